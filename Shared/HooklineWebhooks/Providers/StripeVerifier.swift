import Crypto
import HTTPTypes

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>` with HMAC-SHA256.
/// Any `v1` may match any secret; `v0` and unknown schemes are ignored. Event body `type`, id body
/// `id`, key `data.object.id`.
public struct StripeVerifier: WebhookVerifier {
    public static let provider = "stripe"
    public static let settings: Set<ProviderSetting> = [.secrets, .toleranceSeconds]

    static let scheme = TimestampedHMACScheme(
        header: HTTPField.Name("Stripe-Signature")!, separator: UInt8(ascii: ","), timestampPrefix: "t=", signaturePrefix: "v1=", joiner: "."
    )
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
        try Self.scheme.verify(request, keys: self.keys, tolerance: self.tolerance)
        try request.requireJSONObjectBody()
        guard let id = JSONScanner.value(at: Self.id, in: request.body)?.string else {
            throw .malformedBody("a Stripe event with an id")
        }
        let event = JSONScanner.value(at: Self.type, in: request.body)?.string
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        var headers = HTTPFields()
        headers.append(try self.scheme.sign(message, provider: self.provider))
        headers[.contentType] = "application/json; charset=utf-8"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension StripeVerifier {
    /// Stripe: a 49.90 EUR payment for order `ord_1001` (`metadata.order_id`) by customer
    /// `cus_Q5hZ8xY2mN4kLp`, through `checkout.session.completed`, `payment_intent.succeeded`,
    /// `charge.refunded`, and a declined attempt in `payment_intent.payment_failed`. The event and id
    /// come from the body (`type`, `id`); the key is `data.object.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "stripe",
            event: "checkout.session.completed",
            body: #"{"id":"evt_1PGq8vLkdIwHu7ixa3KpZt4Q","object":"event","api_version":"2024-04-10","created":1715678412,"data":{"object":{"id":"cs_live_a1Xo9fR2bT4uV6wY8zA0cE2gI4kM6oQ8sU0wY2","object":"checkout.session","amount_subtotal":4990,"amount_total":4990,"client_reference_id":"ord_1001","created":1715678210,"currency":"eur","customer":"cus_Q5hZ8xY2mN4kLp","customer_details":{"email":"jon@example.com","name":"Jon Snow","address":{"country":"DE","postal_code":"10115"}},"expires_at":1715764610,"livemode":true,"metadata":{"order_id":"ord_1001"},"mode":"payment","payment_intent":"pi_3PGq7uLkdIwHu7ix1Qm4Rz8D","payment_method_types":["card"],"payment_status":"paid","status":"complete","success_url":"https://shop.example.com/orders/ord_1001/thanks","url":null}},"livemode":true,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"checkout.session.completed"}"#,
            expectedID: "evt_1PGq8vLkdIwHu7ixa3KpZt4Q",
            expectedKey: "cs_live_a1Xo9fR2bT4uV6wY8zA0cE2gI4kM6oQ8sU0wY2"
        ),
        WebhookSample(
            provider: "stripe",
            event: "payment_intent.succeeded",
            body: #"{"id":"evt_3PGq7uLkdIwHu7ix1b2Vx9Nk","object":"event","api_version":"2024-04-10","created":1715678411,"data":{"object":{"id":"pi_3PGq7uLkdIwHu7ix1Qm4Rz8D","object":"payment_intent","amount":4990,"amount_capturable":0,"amount_received":4990,"capture_method":"automatic","client_secret":null,"confirmation_method":"automatic","created":1715678395,"currency":"eur","customer":"cus_Q5hZ8xY2mN4kLp","description":"Order ord_1001","latest_charge":"ch_3PGq7uLkdIwHu7ix1Kc0Wd3F","livemode":true,"metadata":{"order_id":"ord_1001"},"payment_method":"pm_1PGq8qLkdIwHu7ixV4tD2sLe","payment_method_types":["card"],"receipt_email":"jon@example.com","status":"succeeded"}},"livemode":true,"pending_webhooks":2,"request":{"id":null,"idempotency_key":"3c1f7e0a-9b52-4d8e-a6f1-0e2d4c6b8a90"},"type":"payment_intent.succeeded"}"#,
            expectedID: "evt_3PGq7uLkdIwHu7ix1b2Vx9Nk",
            expectedKey: "pi_3PGq7uLkdIwHu7ix1Qm4Rz8D"
        ),
        WebhookSample(
            provider: "stripe",
            event: "payment_intent.payment_failed",
            body: #"{"id":"evt_3PGq6sLkdIwHu7ix0Fh5Ty2W","object":"event","api_version":"2024-04-10","created":1715678340,"data":{"object":{"id":"pi_3PGq6sLkdIwHu7ix0Lz7Ng1C","object":"payment_intent","amount":4990,"amount_received":0,"capture_method":"automatic","created":1715678330,"currency":"eur","customer":"cus_Q5hZ8xY2mN4kLp","description":"Order ord_1001","last_payment_error":{"charge":"ch_3PGq6sLkdIwHu7ix0Sg8Hb5M","code":"card_declined","decline_code":"insufficient_funds","doc_url":"https://stripe.com/docs/error-codes/card-declined","message":"Your card has insufficient funds.","type":"card_error"},"latest_charge":"ch_3PGq6sLkdIwHu7ix0Sg8Hb5M","livemode":true,"metadata":{"order_id":"ord_1001"},"payment_method":null,"payment_method_types":["card"],"receipt_email":"jon@example.com","status":"requires_payment_method"}},"livemode":true,"pending_webhooks":2,"request":{"id":"req_Xa4Pq9Lm2Tz7Bv","idempotency_key":"8e2b5d1c-4f7a-4c39-b0d6-1a3e5f7c9b21"},"type":"payment_intent.payment_failed"}"#,
            expectedID: "evt_3PGq6sLkdIwHu7ix0Fh5Ty2W",
            expectedKey: "pi_3PGq6sLkdIwHu7ix0Lz7Ng1C"
        ),
        WebhookSample(
            provider: "stripe",
            event: "charge.refunded",
            body: #"{"id":"evt_3PGq7uLkdIwHu7ix1Jr6Pc0A","object":"event","api_version":"2024-04-10","created":1715851023,"data":{"object":{"id":"ch_3PGq7uLkdIwHu7ix1Kc0Wd3F","object":"charge","amount":4990,"amount_captured":4990,"amount_refunded":4990,"balance_transaction":"txn_3PGq7uLkdIwHu7ix1Ew3Ug5H","billing_details":{"email":"jon@example.com","name":"Jon Snow"},"captured":true,"created":1715678410,"currency":"eur","customer":"cus_Q5hZ8xY2mN4kLp","description":"Order ord_1001","livemode":true,"metadata":{"order_id":"ord_1001"},"paid":true,"payment_intent":"pi_3PGq7uLkdIwHu7ix1Qm4Rz8D","payment_method_details":{"card":{"brand":"visa","country":"DE","exp_month":8,"exp_year":2027,"last4":"4242"},"type":"card"},"receipt_email":"jon@example.com","refunded":true,"status":"succeeded"},"previous_attributes":{"amount_refunded":0,"refunded":false}},"livemode":true,"pending_webhooks":1,"request":{"id":"req_Rk2Wn8Yc5Jq1Df","idempotency_key":"b4a7c2e9-6d13-4f80-9e5a-7c0b2d4f6a18"},"type":"charge.refunded"}"#,
            expectedID: "evt_3PGq7uLkdIwHu7ix1Jr6Pc0A",
            expectedKey: "ch_3PGq7uLkdIwHu7ix1Kc0Wd3F"
        ),
    ]
}
