/// Standard base64 (RFC 4648 §4). Encoding pads; decoding accepts padded or unpadded input and
/// refuses any other character, including whitespace and the URL-safe alphabet.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in Base64.alphabet.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let chunk = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(self.alphabet[Int(chunk >> 18 & 0x3F)])
            out.append(self.alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(second == nil ? UInt8(ascii: "=") : self.alphabet[Int(chunk >> 6 & 0x3F)])
            out.append(third == nil ? UInt8(ascii: "=") : self.alphabet[Int(chunk & 0x3F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The decoded bytes, or `nil` when `text` is empty or not base64.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var utf8 = Substring(text).utf8
        // Strip up to two padding characters; the rest must be a whole number of 2-, 3- or 4-char groups.
        var padding = 0
        while padding < 2, utf8.last == UInt8(ascii: "=") {
            utf8 = utf8.dropLast()
            padding += 1
        }
        let count = utf8.count
        if count == 0 || count % 4 == 1 { return nil }
        if padding > 0, (count + padding) % 4 != 0 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in utf8 {
            let value = self.reverse[Int(character)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero in canonical encodings; accept them as Go and Python do not,
        // since no provider emits non-canonical base64 and refusing buys nothing.
        return out
    }
}
