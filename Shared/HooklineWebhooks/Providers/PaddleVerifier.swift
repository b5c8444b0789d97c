import Crypto
import HTTPTypes

/// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]` (several `h1` while a secret
/// rotates), HMAC-SHA256 over `<ts>:<body>`, with timestamp tolerance. Event body `event_type`, id
/// body `event_id`, key `data.id`. Acknowledged with 200: Paddle's documentation asks for
/// "an HTTP 200 status code" and does not say that another 2xx counts.
public struct PaddleVerifier: WebhookVerifier {
    public static let provider = "paddle"
    public static let settings: Set<ProviderSetting> = [.secrets, .toleranceSeconds]
    public static let successStatus: HTTPResponse.Status = .ok

    static let scheme = TimestampedHMACScheme(
        header: HTTPField.Name("Paddle-Signature")!, separator: UInt8(ascii: ";"), timestampPrefix: "ts=", signaturePrefix: "h1=", joiner: ":"
    )
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
        try Self.scheme.verify(request, keys: self.keys, tolerance: self.tolerance)
        try request.requireJSONObjectBody()
        guard let id = JSONScanner.value(at: Self.eventID, in: request.body)?.string else {
            throw .malformedBody("a Paddle notification with an event_id")
        }
        let event = JSONScanner.value(at: Self.eventType, in: request.body)?.string
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        var headers = HTTPFields()
        headers.append(try self.scheme.sign(message, provider: self.provider))
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension PaddleVerifier {
    /// Paddle Billing: `transaction.completed` for a 49.90 EUR checkout. The event and id come from
    /// the body (`event_type`, `event_id`); the key is `data.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "paddle",
            event: "transaction.completed",
            body: #"{"event_id":"evt_01hxr7a3b9c2d5e8f1g4h7j0k3","event_type":"transaction.completed","occurred_at":"2024-05-14T09:27:04.512311Z","notification_id":"ntf_01hxr7a3m6n9p2q5r8s1t4v7w0","data":{"id":"txn_01hxr79z4k7m0p3r6t9w2y5a8c","status":"completed","customer_id":"ctm_01hxr78q2s5v8y1b4d7f0h3k6m","address_id":"add_01hxr78r7t0w3z6c9e2g5j8l1n","business_id":null,"custom_data":{"order_id":"ord_1001"},"origin":"web","collection_mode":"automatic","subscription_id":null,"invoice_number":"325-10566","currency_code":"EUR","items":[{"price":{"id":"pri_01hxr6z9a2b5c8d1e4f7g0h3j6","product_id":"pro_01hxr6y8k1m4n7p0q3r6s9t2v5","description":"Hookline T-Shirt (M)","unit_price":{"amount":"2495","currency_code":"EUR"}},"quantity":2}],"details":{"totals":{"subtotal":"4193","tax":"797","discount":"0","total":"4990","grand_total":"4990","fee":"299","earnings":"3894","currency_code":"EUR"}},"payments":[{"payment_attempt_id":"8f3b2e71-0c9d-4a5e-b6f1-2d7c8e9a0b14","status":"captured","method_details":{"type":"card","card":{"type":"visa","last4":"4242","expiry_month":8,"expiry_year":2027}},"captured_at":"2024-05-14T09:27:02.861Z"}],"created_at":"2024-05-14T09:26:31.228Z","updated_at":"2024-05-14T09:27:04.312Z","billed_at":"2024-05-14T09:27:02.901Z"}}"#,
            expectedID: "evt_01hxr7a3b9c2d5e8f1g4h7j0k3",
            expectedKey: "txn_01hxr79z4k7m0p3r6t9w2y5a8c"
        ),
    ]
}
