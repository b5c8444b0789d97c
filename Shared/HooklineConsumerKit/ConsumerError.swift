/// What a handler throws to say how its failure should be treated.
///
/// A ``Code/transient`` failure (a dependency that is down, a lock) is retried with backoff, up
/// to ``ConsumerConfiguration/maxAttempts`` attempts; a ``Code/permanent`` one (an undecodable
/// payload, a schema mismatch) goes to the dead-letter topic at once. Any other error a handler
/// throws counts as transient, except `DecodingError`, which counts as permanent; a failure of
/// the database itself (busy, full, an I/O error) is not counted against the event at all: the
/// batch is retried without a limit.
///
/// The retries are short (with the defaults, 100 ms doubling over 5 attempts: about 1.5 s in
/// all) and every partition of the instance waits meanwhile, so "transient" is not a way to wait
/// for another event (one on another topic, not yet read): store what arrives first and complete
/// it when the other comes, as the orders service does. Nor for a constraint of the service's
/// own tables, which fails the same way at each attempt: write by the entity's key
/// (`INSERT … ON CONFLICT`), since deduplication is by event id and a provider sends several
/// events about one entity.
package struct ConsumerError: Error, Sendable, CustomStringConvertible {
    /// Whether retrying can help; opaque so new kinds need no API change.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String

        /// Retrying later may succeed.
        package static let transient = Code(rawValue: "transient")
        /// Retrying will fail the same way.
        package static let permanent = Code(rawValue: "permanent")

        package var description: String { self.rawValue }
    }

    package var code: Code
    /// What went wrong, for logs and the `hookline-dlq-reason` header. Never the payload.
    package var message: String
    /// The underlying error, when there is one.
    package var cause: (any Error)?

    package init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package static func transient(_ message: String, cause: (any Error)? = nil) -> ConsumerError {
        ConsumerError(code: .transient, message: message, cause: cause)
    }

    package static func permanent(_ message: String, cause: (any Error)? = nil) -> ConsumerError {
        ConsumerError(code: .permanent, message: message, cause: cause)
    }

    /// A value the sender wrote, as a message may quote it: at most `limit` characters, control
    /// characters and quotes replaced, so that a log line or dead-letter reason carries no more
    /// of the payload than names the fault.
    package static func quoting(_ value: String, limit: Int = 40) -> String {
        let shown = value.prefix(limit).map { $0.isASCII && ($0.asciiValue! < 0x20 || $0 == "\"" || $0 == "\u{7F}") ? "?" : String($0) }.joined()
        return "\"" + shown + (value.count > limit ? "…" : "") + "\""
    }

    package var description: String {
        if let cause { return "\(self.code): \(self.message) (\(cause))" }
        return "\(self.code): \(self.message)"
    }

    /// How the kit classifies whatever a handler threw.
    static func classify(_ error: any Error) -> ConsumerError {
        switch error {
        case let error as ConsumerError: error
        case let error as DecodingError: .permanent("the payload does not decode", cause: error)
        default: .transient("\(type(of: error))", cause: error)
        }
    }
}
