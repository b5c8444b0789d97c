/// RFC 3339 timestamps as the instants they name.
///
/// Providers write their times with the offset of wherever the shop is (Shopify's
/// `2024-10-27T02:50:00+02:00`) or in UTC (`…Z`); as text they sort by wall-clock time, not by
/// instant, so across a daylight-saving change or between providers a later event can sort first.
/// Compare ``milliseconds(_:)`` instead.
enum RFC3339 {
    /// Unix milliseconds of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `T` or a space between
    /// date and time; `z` for `Z`); nil for anything else. Digits past milliseconds are dropped.
    /// Parsed by hand: it runs once per order event, and needs no calendar or locale.
    static func milliseconds(_ text: String) -> Int64? {
        var utf8 = text.utf8[...]
        func number(_ digits: Int) -> Int64? {
            guard utf8.count >= digits else { return nil }
            var value: Int64 = 0
            for byte in utf8.prefix(digits) {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            utf8 = utf8.dropFirst(digits)
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard let byte = utf8.first, characters.utf8.contains(byte) else { return false }
            utf8 = utf8.dropFirst()
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2), expect("Tt "),
            let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var millisecond: Int64 = 0
        if expect(".") {
            var scale: Int64 = 100
            var digits = 0
            while let byte = utf8.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                millisecond += Int64(byte - UInt8(ascii: "0")) * scale
                scale /= 10
                digits += 1
                utf8 = utf8.dropFirst()
            }
            guard digits > 0 else { return nil }
        }
        var offsetMinutes: Int64 = 0
        if !expect("Zz") {
            guard let sign = utf8.first, expect("+-"), let offsetHour = number(2), expect(":"), let offsetMinute = number(2),
                offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard utf8.isEmpty else { return nil }
        let seconds = Self.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1000 + millisecond
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
