import Crypto

/// Ids for deliveries that carry none, as lowercase UUIDs: random ones (version 4), or ones
/// derived from the body (version 8), which a provider's retry of the same body repeats.
enum DeliveryID {
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in stride(from: 0, to: 16, by: 8) {
            var word = generator.next()
            for offset in 0..<8 {
                bytes[index + offset] = UInt8(truncatingIfNeeded: word)
                word >>= 8
            }
        }
        bytes[6] = bytes[6] & 0x0F | 0x40
        return self.uuid(bytes)
    }

    /// The first 16 bytes of the body's SHA-256 as a version 8 UUID: equal bodies, equal ids.
    static func derived(from body: [UInt8]) -> String {
        var bytes = Array(SHA256.hash(data: body).prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        return self.uuid(bytes)
    }

    /// `bytes` (16) with the RFC 9562 variant bits set, spelled 8-4-4-4-12.
    private static func uuid(_ bytes: [UInt8]) -> String {
        var bytes = bytes
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array(Hex.encode(bytes).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, character) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            out.append(character)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
