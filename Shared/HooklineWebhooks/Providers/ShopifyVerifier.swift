import Crypto
import HTTPTypes

/// Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the body. Every header is also accepted
/// without its `X-` prefix. Event `X-Shopify-Topic` with `/` as `.` (`orders/create` →
/// `orders.create`); id `X-Shopify-Event-Id`, else `X-Shopify-Webhook-Id` (both carried as
/// `shopify-event-id` and `shopify-webhook-id` headers); key `X-Shopify-Shop-Domain`.
public struct ShopifyVerifier: WebhookVerifier {
    public static let provider = "shopify"
    public static let settings: Set<ProviderSetting> = [.secrets]

    struct Header {
        let name: HTTPField.Name
        let alias: HTTPField.Name

        init(_ name: String) {
            self.name = HTTPField.Name("X-" + name)!
            self.alias = HTTPField.Name(name)!
        }
    }

    static let signature = Header("Shopify-Hmac-Sha256")
    static let topic = Header("Shopify-Topic")
    static let eventID = Header("Shopify-Event-Id")
    static let webhookID = Header("Shopify-Webhook-Id")
    static let shopDomain = Header("Shopify-Shop-Domain")

    let keys: HMACKeys<SHA256>

    public var unsignedEventSource: String? { "the X-Shopify-Topic header" }

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.eventID.name, Self.eventID.alias, Self.webhookID.name, Self.webhookID.alias] }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the app's client secret).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        guard let signature = try headers.uniqueValue(Self.signature.name, or: Self.signature.alias, signature: true), !signature.isEmpty else {
            throw .missingSignature(Self.signature.name)
        }
        guard let code = Base64.decode(signature) else { throw .malformedSignature(Self.signature.name) }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(Self.signature.name)
        }
        let topic = try self.value(Self.topic, in: headers)
        let eventID = try self.value(Self.eventID, in: headers)
        let webhookID = try self.value(Self.webhookID, in: headers)
        guard let id = eventID ?? webhookID else { throw .missingHeader(Self.webhookID.name) }
        var extra: [VerifiedWebhook.Header] = []
        if let eventID { extra.append(.init(name: "shopify-event-id", value: eventID)) }
        if let webhookID { extra.append(.init(name: "shopify-webhook-id", value: webhookID)) }
        return VerifiedWebhook(
            provider: Self.provider,
            event: topic.map { String($0.map { $0 == "/" ? "." : $0 }) },
            id: id,
            key: try self.value(Self.shopDomain, in: headers),
            headers: extra
        )
    }

    private func value(_ header: Header, in headers: HTTPFields) throws(WebhookError) -> String? {
        guard let value = try headers.uniqueValue(header.name, or: header.alias), !value.isEmpty else { return nil }
        return value
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        var headers = HTTPFields()
        headers[self.topic.name] = String((message.event ?? "app/uninstalled").map { $0 == "." ? "/" : $0 })
        headers[self.signature.name] = Base64.encode(HMACKeys<SHA256>.code(secret: secret) { $0.update(bytes: message.body) })
        if let key = message.key { headers[self.shopDomain.name] = key }
        headers[self.eventID.name] = message.id ?? DeliveryID.random()
        headers[self.webhookID.name] = DeliveryID.random()
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}
