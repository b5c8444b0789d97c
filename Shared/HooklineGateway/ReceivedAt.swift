import Foundation
import Synchronization

/// When a request arrived, in the two forms the Kafka headers carry. The RFC 3339 text is
/// formatted at most once a second and shared, so the request path does no date formatting.
struct ReceivedAt: Sendable {
    /// `ce_time`: RFC 3339, second precision, UTC.
    let rfc3339: String
    /// `hookline-received-at`: milliseconds since the Unix epoch.
    let milliseconds: String
    /// Unix seconds, for signature timestamp tolerance.
    let unixSeconds: Int64

    private static let cache = Mutex<(second: Int64, text: String)>((-1, ""))

    static func now() -> ReceivedAt {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let seconds = Int64(time.tv_sec)
        let text = self.cache.withLock { cache in
            if cache.second != seconds {
                cache = (seconds, Self.format(seconds))
            }
            return cache.text
        }
        return ReceivedAt(rfc3339: text, milliseconds: String(seconds * 1000 + Int64(time.tv_nsec) / 1_000_000), unixSeconds: seconds)
    }

    private static func format(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
