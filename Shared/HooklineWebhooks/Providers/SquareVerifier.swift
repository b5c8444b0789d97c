import Crypto
import HTTPTypes

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 (the subscription's signature key)
/// over the notification URL followed by the body. Event body `type`, id body `event_id`, key
/// `data.id`.
public struct SquareVerifier: WebhookVerifier {
    public static let provider = "square"
    public static let settings: Set<ProviderSetting> = [.secrets, .publicURL]

    static let signatureHeader = HTTPField.Name("x-square-hmacsha256-signature")!
    static let type = JSONPointer(members: "type")
    static let eventID = JSONPointer(members: "event_id")
    static let object = JSONPointer(members: "data", "id")

    let keys: HMACKeys<SHA256>
    let publicURL: String

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the signature key).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.publicURL = try configuration.requirePublicURL(provider: Self.provider)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let signature = try request.headerFields.signature(Self.signatureHeader)
        guard let code = Base64.decode(signature) else { throw .malformedSignature(Self.signatureHeader) }
        let url = request.url ?? self.publicURL
        guard
            self.keys.authenticates(code, { hmac in
                hmac.update(utf8: url)
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(Self.signatureHeader)
        }
        try request.requireJSONObjectBody()
        let event = JSONScanner.value(at: Self.type, in: request.body)?.string ?? "unknown"
        let id = JSONScanner.value(at: Self.eventID, in: request.body)?.string ?? DeliveryID.random()
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        guard let url = message.url ?? message.configuration.publicURL else {
            throw WebhookConfigurationError(provider: self.provider, message: "Signing needs the notification URL.")
        }
        var headers = HTTPFields()
        headers[self.signatureHeader] = Base64.encode(HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: url)
            hmac.update(bytes: message.body)
        })
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: url)
    }
}
