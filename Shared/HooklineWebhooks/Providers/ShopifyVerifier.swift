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

// MARK: - Samples

extension ShopifyVerifier {
    /// Shopify: the life of order `820982911946154508` (#1001, 49.90 EUR, `jon@example.com`):
    /// `orders.create`, `orders.paid`, `orders.updated`, `orders.cancelled`. The topic travels in
    /// `X-Shopify-Topic` (`orders/create`), the id in `X-Shopify-Event-Id`, the key (the shop) in
    /// `X-Shopify-Shop-Domain`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "shopify",
            event: "orders.create",
            body: ##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2024-05-14T11:26:35+02:00","updated_at":"2024-05-14T11:26:35+02:00","processed_at":"2024-05-14T11:26:35+02:00","currency":"EUR","presentment_currency":"EUR","subtotal_price":"41.93","total_tax":"7.97","total_discounts":"0.00","total_shipping_price_set":{"shop_money":{"amount":"0.00","currency_code":"EUR"}},"total_price":"49.90","financial_status":"pending","fulfillment_status":null,"cancelled_at":null,"cancel_reason":null,"tags":"","customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","currency":"EUR"},"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"HOOK-TEE-M","title":"Hookline T-Shirt","variant_title":"M","quantity":2,"price":"24.95","taxable":true}],"shipping_address":{"first_name":"Jon","last_name":"Snow","address1":"Invalidenstraße 117","city":"Berlin","zip":"10115","country_code":"DE"}}"##,
            id: "3f9a1c2e-5b7d-4e8f-a0c1-2d3e4f5a6b7c",
            key: "hookline-demo.myshopify.com",
            expectedKey: "hookline-demo.myshopify.com"
        ),
        WebhookSample(
            provider: "shopify",
            event: "orders.paid",
            body: ##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2024-05-14T11:26:35+02:00","updated_at":"2024-05-14T11:26:52+02:00","processed_at":"2024-05-14T11:26:35+02:00","currency":"EUR","presentment_currency":"EUR","subtotal_price":"41.93","total_tax":"7.97","total_discounts":"0.00","total_price":"49.90","total_outstanding":"0.00","financial_status":"paid","fulfillment_status":null,"gateway":"shopify_payments","payment_gateway_names":["shopify_payments"],"cancelled_at":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","currency":"EUR"},"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"HOOK-TEE-M","title":"Hookline T-Shirt","variant_title":"M","quantity":2,"price":"24.95","taxable":true}],"note_attributes":[{"name":"order_id","value":"ord_1001"}]}"##,
            id: "6b2d4f80-9a1c-4e3b-8d5f-7a9c1e3b5d70",
            key: "hookline-demo.myshopify.com",
            expectedKey: "hookline-demo.myshopify.com"
        ),
        WebhookSample(
            provider: "shopify",
            event: "orders.updated",
            body: ##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2024-05-14T11:26:35+02:00","updated_at":"2024-05-14T14:03:11+02:00","processed_at":"2024-05-14T11:26:35+02:00","currency":"EUR","subtotal_price":"41.93","total_tax":"7.97","total_price":"49.90","financial_status":"paid","fulfillment_status":"fulfilled","tags":"gift, priority","note":"Please leave at the front desk.","cancelled_at":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","currency":"EUR"},"fulfillments":[{"id":255858046,"status":"success","tracking_company":"DHL Express","tracking_number":"1Z2345","created_at":"2024-05-14T14:03:10+02:00"}],"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"HOOK-TEE-M","title":"Hookline T-Shirt","quantity":2,"price":"24.95","fulfillment_status":"fulfilled"}]}"##,
            id: "9c4e6a10-2b3d-4f5a-9e7c-1d2f3a4b5c6d",
            key: "hookline-demo.myshopify.com",
            expectedKey: "hookline-demo.myshopify.com"
        ),
        WebhookSample(
            provider: "shopify",
            event: "orders.cancelled",
            body: ##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2024-05-14T11:26:35+02:00","updated_at":"2024-05-16T09:17:03+02:00","processed_at":"2024-05-14T11:26:35+02:00","currency":"EUR","subtotal_price":"41.93","total_tax":"7.97","total_price":"49.90","financial_status":"refunded","fulfillment_status":null,"cancelled_at":"2024-05-16T09:17:03+02:00","cancel_reason":"customer","customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","currency":"EUR"},"refunds":[{"id":509562969,"created_at":"2024-05-16T09:17:02+02:00","note":"Customer changed their mind","transactions":[{"id":389404469,"kind":"refund","status":"success","amount":"49.90","currency":"EUR"}]}],"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"HOOK-TEE-M","title":"Hookline T-Shirt","quantity":2,"price":"24.95"}]}"##,
            id: "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
            key: "hookline-demo.myshopify.com",
            expectedKey: "hookline-demo.myshopify.com"
        ),
    ]
}
