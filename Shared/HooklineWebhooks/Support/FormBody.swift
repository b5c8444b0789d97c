/// `application/x-www-form-urlencoded` bodies (Slack slash commands, Twilio callbacks).
enum FormBody {
    struct Pair: Sendable, Hashable {
        let name: String
        let value: String
    }

    /// The decoded name-value pairs in order: `+` is a space, `%XX` a byte; a `%` not followed by
    /// two hex digits stays as it is. Empty segments are skipped; a segment without `=` has an
    /// empty value.
    static func parse(_ body: [UInt8]) -> [Pair] {
        var pairs: [Pair] = []
        for segment in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = segment.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append(Pair(name: self.decode(segment[..<equals]), value: self.decode(segment[(equals + 1)...])))
            } else {
                pairs.append(Pair(name: self.decode(segment), value: ""))
            }
        }
        return pairs
    }

    /// Whether `body` has more than `limit` `&`-separated parameters (counting empty ones); stops
    /// at the limit.
    static func hasMoreParameters(than limit: Int, in body: [UInt8]) -> Bool {
        var separators = 0
        for byte in body where byte == UInt8(ascii: "&") {
            separators += 1
            if separators >= limit { return true }
        }
        return false
    }

    /// Whether `body` looks like a form rather than JSON: non-empty, and its first byte neither `{`
    /// nor `[` nor whitespace.
    static func looksLikeForm(_ body: [UInt8]) -> Bool {
        guard let first = body.first else { return false }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["), 0x20, 0x09, 0x0A, 0x0D: return false
        default: return true
        }
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
                let high = Hex.value(bytes[index + 1]), let low = Hex.value(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == FormBody.Pair {
    /// The first value named `name`.
    func first(_ name: String) -> String? {
        self.first(where: { $0.name == name })?.value
    }
}
