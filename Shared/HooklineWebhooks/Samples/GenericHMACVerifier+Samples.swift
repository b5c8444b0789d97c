// MARK: - WebhookSamples + generic HMAC-SHA256

extension GenericHMACVerifier {
    /// The configuration the generic samples assume: `X-Signature: sha256=<hex>`, the event in the
    /// body's `event_type`, the id in `X-Webhook-Id`, and events of one order keyed together by
    /// `order_id`.
    static let genericHMACConfiguration = ProviderConfiguration(
        signatureHeader: "X-Signature",
        signaturePrefix: "sha256=",
        eventTypeJSONPointer: "/event_type",
        idHeader: "X-Webhook-Id",
        keyJSONPointer: "/order_id"
    )

    /// A shop backend's own webhooks (`hmac-sha256`): `new_order` and `payment_success` for order
    /// `ord_1001`, keyed by `order_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "hmac-sha256",
            event: "new_order",
            body: #"{"event_type":"new_order","event_id":"evt_5001","created_at":"2024-05-14T09:26:35Z","order_id":"ord_1001","shop_order_id":820982911946154508,"status":"pending","total":"49.90","subtotal":"41.93","tax":"7.97","currency":"EUR","customer":{"id":"cust_7Pq2Rk9Vm4","email":"jon@example.com","name":"Jon Snow"},"items":[{"sku":"HOOK-TEE-M","name":"Hookline T-Shirt (M)","quantity":2,"unit_price":"24.95"}],"shipping":{"method":"dhl_express","address":{"line1":"Invalidenstraße 117","city":"Berlin","postal_code":"10115","country":"DE"}}}"#,
            id: "whd_01HXR6Q2K8M4N7P9S3T5V7X9Z1",
            configuration: genericHMACConfiguration,
            expectedKey: "ord_1001"
        ),
        WebhookSample(
            provider: "hmac-sha256",
            event: "payment_success",
            body: #"{"event_type":"payment_success","event_id":"evt_5002","created_at":"2024-05-14T09:26:51Z","payment_id":"pay_2001","order_id":"ord_1001","amount":"49.90","currency":"EUR","method":"card","card":{"brand":"visa","last4":"4242"},"provider":"stripe","provider_reference":"pi_3PGq7uLkdIwHu7ix1Qm4Rz8D","customer":{"id":"cust_7Pq2Rk9Vm4","email":"jon@example.com"},"captured_at":"2024-05-14T09:26:50Z"}"#,
            id: "whd_01HXR6QJ3B5D7F9H1K3M5P7R9T",
            configuration: genericHMACConfiguration,
            expectedKey: "ord_1001"
        ),
    ]
}
