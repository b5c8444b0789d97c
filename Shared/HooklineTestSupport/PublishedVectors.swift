import Foundation

/// One of the providers' published signature test vectors, from `shared/provider-vectors.json`
/// beside the repository.
package struct PublishedVector: Sendable {
    package var provider: String
    package var secret: String?
    package var publicKey: String?
    /// The headers as published, sorted by name.
    package var headers: [(name: String, value: String)]
    /// The body as sent: a vector given as form parameters has them form-encoded, sorted by name.
    package var body: [UInt8]
    /// The URL it was signed for (Twilio, Square), query included.
    package var url: String?
    /// When it was signed (Unix seconds), for the schemes that sign a timestamp.
    package var signedAt: Int64?

    package static let path: String = {
        // #filePath is <repo>/Shared/HooklineTestSupport/PublishedVectors.swift; shared/ is beside <repo>.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("shared/provider-vectors.json").path
    }()

    package static func all() throws -> [PublishedVector] {
        guard let data = FileManager.default.contents(atPath: self.path) else {
            throw VectorsMissing(path: self.path)
        }
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (root?["vectors"] as? [[String: Any]] ?? []).map { raw in
            var body = raw["body"] as? String ?? ""
            if let form = raw["form"] as? [String: String] {
                body = formEncode(form.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
            return PublishedVector(
                provider: raw["provider"] as? String ?? "",
                secret: raw["secret"] as? String,
                publicKey: raw["public_key"] as? String,
                headers: (raw["headers"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                body: Array(body.utf8),
                url: raw["url"] as? String,
                signedAt: (raw["now"] as? NSNumber)?.int64Value
            )
        }
    }

    struct VectorsMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "Published vectors not found at \(self.path): shared/ must sit beside the repository." }
    }
}

/// Percent-encodes form parameters as browsers and Twilio do (space as `+`).
package func formEncode(_ pairs: [(String, String)]) -> String {
    let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*".utf8)
    let digits = Array("0123456789ABCDEF")
    func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.append(Character(Unicode.Scalar(byte)))
            } else if byte == 0x20 {
                out.append("+")
            } else {
                out += ["%", digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return out
    }
    return pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
}
