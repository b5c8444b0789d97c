import Logging
import Synchronization

/// Bounds the log lines of events that can come once per request: for each source and kind, at
/// most ``linesPerSecond`` a second; the rest are counted, and the next line let through says
/// how many were held back (`hookline.suppressed`). A flood of refused or unacknowledged webhooks
/// (a rotated secret not yet configured, someone probing, a broker outage) then costs a few lines
/// a second instead of one per request, while the metrics still count every request.
final class LogThrottle: Sendable {
    enum Kind: Hashable, Sendable {
        /// A webhook refused by its verifier.
        case refused
        /// A request cut off before it was read in full (408, unparsable HTTP).
        case cutOff
        /// A webhook the broker did not acknowledge (503).
        case unacknowledged
        /// A topic the broker did not create (keyed by the topic, not the source).
        case topicCreation
    }

    private struct Key: Hashable {
        var source: String
        var kind: Kind
    }

    private struct Window {
        var start: ContinuousClock.Instant
        var lines = 0
        var suppressed = 0
    }

    let linesPerSecond: Int
    private let windows = Mutex<[Key: Window]>([:])

    init(linesPerSecond: Int = 10) {
        self.linesPerSecond = linesPerSecond
    }

    /// Logs one line of `kind` for `source` unless the throttle holds it back; the line says how
    /// many were held back before it (`hookline.suppressed`).
    func log(_ kind: Kind, source: String, level: Logger.Level, _ message: Logger.Message, metadata: @autoclosure () -> Logger.Metadata, logger: Logger) {
        guard logger.logLevel <= level, let held = self.admit(kind, source: source) else { return }
        var metadata = metadata()
        if held > 0 { metadata["hookline.suppressed"] = "\(held)" }
        logger.log(level: level, message, metadata: metadata)
    }

    /// Whether a line of `kind` for `source` may be logged now: nil when not, else how many lines
    /// were held back since the last one let through.
    func admit(_ kind: Kind, source: String, now: ContinuousClock.Instant = .now) -> Int? {
        self.windows.withLock { windows in
            let key = Key(source: source, kind: kind)
            var window = windows[key] ?? Window(start: now)
            defer { windows[key] = window }
            if now - window.start >= .seconds(1) {
                window.start = now
                window.lines = 0
            }
            guard window.lines < self.linesPerSecond else {
                window.suppressed += 1
                return nil
            }
            window.lines += 1
            defer { window.suppressed = 0 }
            return window.suppressed
        }
    }
}
