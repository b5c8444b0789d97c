import Crypto
import HTTPTypes

/// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]` (several `h1` while a secret
/// rotates), HMAC-SHA256 over `<ts>:<body>`, with timestamp tolerance. Event body `event_type`, id
/// body `event_id`, key `data.id`.
public struct PaddleVerifier: WebhookVerifier {
    public static let provider = "paddle"

    static let signatureHeader = HTTPField.Name("Paddle-Signature")!
    static let eventType = JSONPointer(members: "event_type")
    static let eventID = JSONPointer(members: "event_id")
    static let object = JSONPointer(members: "data", "id")

    let keys: HMACKeys<SHA256>
    let tolerance: Int64

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the destination's secret key).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.tolerance = configuration.toleranceSeconds
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let header = try request.headerFields.signature(Self.signatureHeader)
        var timestampText: Substring?
        var candidates: [[UInt8]] = []
        for item in header.split(separator: ";") {
            if item.hasPrefix("ts=") {
                if timestampText == nil { timestampText = item.dropFirst(3) }
            } else if item.hasPrefix("h1=") {
                if let code = Hex.decode(item.dropFirst(3)) { candidates.append(code) }
            }
        }
        guard let timestampText, let timestamp = Timestamp.parse(timestampText), !candidates.isEmpty else {
            throw .malformedSignature(Self.signatureHeader)
        }
        try Timestamp.check(timestamp, now: request.now, tolerance: self.tolerance)
        let signedTimestamp = String(timestampText)
        guard
            self.keys.authenticates(candidates, { hmac in
                hmac.update(utf8: signedTimestamp)
                hmac.update(utf8: ":")
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(Self.signatureHeader)
        }
        guard let event = JSONScanner.value(at: Self.eventType, in: request.body)?.string,
            let id = JSONScanner.value(at: Self.eventID, in: request.body)?.string
        else {
            throw .malformedBody("a Paddle notification with an event_type and an event_id")
        }
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        let timestamp = String(message.timestamp)
        let code = HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: timestamp)
            hmac.update(utf8: ":")
            hmac.update(bytes: message.body)
        }
        var headers = HTTPFields()
        headers[self.signatureHeader] = "ts=" + timestamp + ";h1=" + Hex.encode(code)
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}
