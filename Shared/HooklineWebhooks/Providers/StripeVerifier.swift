import Crypto
import HTTPTypes

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>` with HMAC-SHA256.
/// Any `v1` may match any secret; `v0` and unknown schemes are ignored. Event body `type`, id body
/// `id`, key `data.object.id`.
public struct StripeVerifier: WebhookVerifier {
    public static let provider = "stripe"

    static let signatureHeader = HTTPField.Name("Stripe-Signature")!
    static let type = JSONPointer(members: "type")
    static let id = JSONPointer(members: "id")
    static let object = JSONPointer(members: "data", "object", "id")

    let keys: HMACKeys<SHA256>
    let tolerance: Int64

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (whsec_…).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.tolerance = configuration.toleranceSeconds
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let header = try request.headerFields.signature(Self.signatureHeader)
        var timestampText: Substring?
        var candidates: [[UInt8]] = []
        for item in header.split(separator: ",") {
            if item.hasPrefix("t=") {
                if timestampText == nil { timestampText = item.dropFirst(2) }
            } else if item.hasPrefix("v1=") {
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
                hmac.update(utf8: ".")
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(Self.signatureHeader)
        }
        guard let event = JSONScanner.value(at: Self.type, in: request.body)?.string,
            let id = JSONScanner.value(at: Self.id, in: request.body)?.string
        else {
            throw .malformedBody("a Stripe event with a type and an id")
        }
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        let timestamp = String(message.timestamp)
        let code = HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: timestamp)
            hmac.update(utf8: ".")
            hmac.update(bytes: message.body)
        }
        var headers = HTTPFields()
        headers[self.signatureHeader] = "t=" + timestamp + ",v1=" + Hex.encode(code)
        headers[.contentType] = "application/json; charset=utf-8"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}
