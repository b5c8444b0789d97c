/// Unix-seconds timestamps in headers, and the tolerance window around the current time.
enum Timestamp {
    /// Parses a decimal, non-negative Unix time of at most 18 digits (no sign, no spaces).
    static func parse(_ text: some StringProtocol) -> Int64? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 18 else { return nil }
        var value: Int64 = 0
        for character in utf8 {
            guard character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(character - UInt8(ascii: "0"))
        }
        return value
    }

    /// Throws 401 unless `timestamp` lies within `tolerance` seconds of `now`, in either direction.
    static func check(_ timestamp: Int64, now: Int64, tolerance: Int64) throws(WebhookError) {
        let (difference, overflow) = now.subtractingReportingOverflow(timestamp)
        if overflow || difference > tolerance || difference < -tolerance {
            throw .timestampOutOfTolerance(tolerance)
        }
    }
}
