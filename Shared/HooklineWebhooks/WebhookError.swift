import HTTPTypes

/// Why a delivery was refused. Carries the HTTP status to answer with, a stable machine ``reason``
/// for metrics and logs, and a human message. Never contains a secret or payload bytes.
public struct WebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable reason code (a metrics label).
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        public let code: String

        public init(_ code: String) { self.code = code }

        public var description: String { self.code }

        /// The signature header is absent (401).
        public static let missingSignature = Reason("missing_signature")
        /// The signature matches no configured secret or key, or cannot be decoded (401).
        public static let badSignature = Reason("bad_signature")
        /// The signature header lists more signatures than a sender ever sends (401): refused
        /// before checking any, since each public-key check costs about 75 µs.
        public static let tooManySignatures = Reason("too_many_signatures")
        /// The signed timestamp is too old or too far in the future (401).
        public static let timestampOutOfTolerance = Reason("timestamp_out_of_tolerance")
        /// A header the scheme requires is absent (400).
        public static let missingHeader = Reason("missing_header")
        /// A header the scheme requires cannot be parsed (400).
        public static let malformedHeader = Reason("malformed_header")
        /// The body cannot be parsed as the scheme requires (400).
        public static let malformedBody = Reason("malformed_body")
        /// Two different values of the signature header (400).
        public static let duplicateSignatureHeader = Reason("duplicate_signature_header")
        /// Two different values of another header the scheme reads (400).
        public static let duplicateHeader = Reason("duplicate_header")
        /// The event named in a routing header contradicts the body (400).
        public static let eventMismatch = Reason("event_mismatch")
    }

    public var status: HTTPResponse.Status
    public var reason: Reason
    public var message: String

    public init(status: HTTPResponse.Status, reason: Reason, message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(self.status.code) \(self.reason.code): \(self.message)" }
}

extension WebhookError {
    static func missingSignature(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(status: .unauthorized, reason: .missingSignature, message: "The \(header.rawName) header is missing.")
    }

    static func badSignature(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(
            status: .unauthorized,
            reason: .badSignature,
            message: "The \(header.rawName) signature does not match any configured secret or key."
        )
    }

    static func malformedSignature(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(
            status: .unauthorized,
            reason: .badSignature,
            message: "The \(header.rawName) header is not a signature in the scheme's format."
        )
    }

    static func tooManySignatures(_ header: HTTPField.Name, limit: Int) -> WebhookError {
        WebhookError(
            status: .unauthorized,
            reason: .tooManySignatures,
            message: "The \(header.rawName) header lists more than \(limit) signatures."
        )
    }

    static func timestampOutOfTolerance(_ tolerance: Int64) -> WebhookError {
        WebhookError(
            status: .unauthorized,
            reason: .timestampOutOfTolerance,
            message: "The signed timestamp is more than \(tolerance) seconds from the current time."
        )
    }

    static func missingHeader(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(status: .badRequest, reason: .missingHeader, message: "The \(header.rawName) header is missing.")
    }

    static func malformedHeader(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(status: .badRequest, reason: .malformedHeader, message: "The \(header.rawName) header cannot be parsed.")
    }

    static func duplicateSignatureHeader(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(
            status: .badRequest,
            reason: .duplicateSignatureHeader,
            message: "The request carries different values of the \(header.rawName) header."
        )
    }

    static func duplicateHeader(_ header: HTTPField.Name) -> WebhookError {
        WebhookError(
            status: .badRequest,
            reason: .duplicateHeader,
            message: "The request carries different values of the \(header.rawName) header."
        )
    }

    static func malformedBody(_ what: String) -> WebhookError {
        WebhookError(status: .badRequest, reason: .malformedBody, message: "The body is not \(what).")
    }

    static func eventMismatch(_ header: HTTPField.Name, _ field: String) -> WebhookError {
        WebhookError(
            status: .badRequest,
            reason: .eventMismatch,
            message: "The event in the \(header.rawName) header contradicts the body's \(field)."
        )
    }
}
