import Crypto
import HTTPTypes

/// Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>` keyed by the app's client secret.
/// Event body `topic`, id body `id`, key `data.item.id`.
public struct IntercomVerifier: WebhookVerifier {
    public static let provider = "intercom"
    public static let settings: Set<ProviderSetting> = [.secrets]

    static let signatureHeader = HTTPField.Name("X-Hub-Signature")!
    static let topic = JSONPointer(members: "topic")
    static let id = JSONPointer(members: "id")
    static let item = JSONPointer(members: "data", "item", "id")

    let keys: HMACKeys<Insecure.SHA1>

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the app's client secret).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let signature = try request.headerFields.signature(Self.signatureHeader)
        guard signature.hasPrefix("sha1="), let code = Hex.decode(signature.dropFirst(5)) else {
            throw .malformedSignature(Self.signatureHeader)
        }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(Self.signatureHeader)
        }
        try request.requireJSONObjectBody()
        let topic = JSONScanner.value(at: Self.topic, in: request.body)?.string
        let id = JSONScanner.value(at: Self.id, in: request.body)?.string ?? DeliveryID.random()
        let key = JSONScanner.value(at: Self.item, in: request.body)?.text
        return VerifiedWebhook(provider: Self.provider, event: topic, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        var headers = HTTPFields()
        headers[self.signatureHeader] = "sha1=" + Hex.encode(HMACKeys<Insecure.SHA1>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}
