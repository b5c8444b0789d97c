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

    static func now() -> ReceivedAt {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let seconds = Int64(time.tv_sec)
        return ReceivedAt(
            rfc3339: SecondTexts.of(seconds).rfc3339,
            milliseconds: String(seconds * 1000 + Int64(time.tv_nsec) / 1_000_000),
            unixSeconds: seconds
        )
    }
}

/// The current second as the gateway writes it: `ce_time` (RFC 3339) and the HTTP `Date` header
/// (IMF-fixdate, RFC 9110). Formatted at most once a second and shared.
struct SecondTexts: Sendable {
    let rfc3339: String
    let httpDate: String

    private static let cache = Mutex<(second: Int64, texts: SecondTexts)>((-1, SecondTexts(rfc3339: "", httpDate: "")))

    /// The texts of the current second, for the `Date` header.
    static var now: SecondTexts {
        self.of(Int64(time(nil)))
    }

    static func of(_ seconds: Int64) -> SecondTexts {
        self.cache.withLock { cache in
            if cache.second != seconds {
                cache = (seconds, SecondTexts(formatting: seconds))
            }
            return cache.texts
        }
    }

    private init(rfc3339: String, httpDate: String) {
        self.rfc3339 = rfc3339
        self.httpDate = httpDate
    }

    private init(formatting seconds: Int64) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = parts.tm_year + 1900
        let clock = "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        self.rfc3339 = "\(year)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(clock)Z"
        self.httpDate = "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(year) \(clock) GMT"
    }
}
