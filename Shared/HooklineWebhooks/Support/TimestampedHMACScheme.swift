import Crypto
import HTTPTypes

/// One header carrying a timestamp and one or more hex HMAC-SHA256 signatures of
/// `<timestamp><joiner><body>`, as Stripe (`t=…,v1=…`, joined by `.`) and Paddle Billing
/// (`ts=…;h1=…`, joined by `:`) send it. Several signatures appear while a secret rotates; any one
/// matching any configured secret suffices. The timestamp is held to the tolerance both ways.
struct TimestampedHMACScheme: Sendable {
    let header: HTTPField.Name
    /// Between the header's items: `,` for Stripe, `;` for Paddle.
    let separator: UInt8
    /// The timestamp item's prefix: `t=`, `ts=`.
    let timestampPrefix: String
    /// A signature item's prefix: `v1=`, `h1=`.
    let signaturePrefix: String
    /// Between the timestamp and the body in the signed content: `.`, `:`.
    let joiner: String

    func verify(_ request: WebhookRequest, keys: HMACKeys<SHA256>, tolerance: Int64) throws(WebhookError) {
        let value = try request.headerFields.signature(self.header)
        var timestampText: Substring?
        var candidates: [[UInt8]] = []
        for item in value.headerItems(separatedBy: self.separator) {
            if item.hasPrefix(self.timestampPrefix) {
                if timestampText == nil { timestampText = item.dropFirst(self.timestampPrefix.count) }
            } else if item.hasPrefix(self.signaturePrefix) {
                if let code = Hex.decode(item.dropFirst(self.signaturePrefix.count)) { candidates.append(code) }
            }
        }
        guard let timestampText, let timestamp = Timestamp.parse(timestampText), !candidates.isEmpty else {
            throw .malformedSignature(self.header)
        }
        try Timestamp.check(timestamp, now: request.now, tolerance: tolerance)
        let signedTimestamp = String(timestampText)
        let joiner = self.joiner
        guard
            keys.authenticates(candidates, { hmac in
                hmac.update(utf8: signedTimestamp)
                hmac.update(utf8: joiner)
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(self.header)
        }
    }

    /// The header a provider sends for `message`, signed with its secret.
    func sign(_ message: WebhookSigningInput, provider: String) throws(WebhookConfigurationError) -> HTTPField {
        let secret = Array(try SigningKeys.require(message.secret, provider: provider).utf8)
        let timestamp = String(message.timestamp)
        let joiner = self.joiner
        let code = HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: timestamp)
            hmac.update(utf8: joiner)
            hmac.update(bytes: message.body)
        }
        let value = self.timestampPrefix + timestamp + String(UnicodeScalar(self.separator)) + self.signaturePrefix + Hex.encode(code)
        return HTTPField(name: self.header, value: value)
    }
}
