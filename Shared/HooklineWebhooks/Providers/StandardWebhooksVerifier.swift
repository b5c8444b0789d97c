import HTTPTypes

/// Standard Webhooks (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp`,
/// `webhook-signature` with `v1` (HMAC-SHA256, `whsec_` secrets) and `v1a` (Ed25519, `whpk_` public
/// keys) entries; timestamp tolerance both ways. Event body `type` (`unknown` when absent), id
/// `webhook-id`, key from ``ProviderConfiguration/keyJSONPointer``. Svix's default header names
/// (`svix-id`, `svix-timestamp`, `svix-signature`) are accepted as well.
public struct StandardWebhooksVerifier: WebhookVerifier {
    public static let provider = "standard-webhooks"
    public static let settings: Set<ProviderSetting> = [.secrets, .publicKeys, .toleranceSeconds, .keyJSONPointer]

    static let type = JSONPointer(members: "type")

    let scheme: StandardWebhooksScheme
    let keyPointer: JSONPointer?

    public var deliveryIDHeaders: [HTTPField.Name] { [StandardWebhooksScheme.idHeader, StandardWebhooksScheme.svixIDHeader] }

    public var verifiesWithPublicKeys: Bool { !self.scheme.publicKeys.isEmpty }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty || !configuration.publicKeys.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one whsec_ secret or whpk_ public key.")
        }
        self.scheme = try StandardWebhooksScheme(
            secrets: configuration.secrets,
            publicKeys: configuration.publicKeys,
            tolerance: configuration.toleranceSeconds,
            svixHeaders: true,
            provider: Self.provider,
            setting: "secrets"
        )
        self.keyPointer = try configuration.keyJSONPointer.map { (text) throws(WebhookConfigurationError) in
            guard let pointer = JSONPointer(text) else {
                throw WebhookConfigurationError(provider: Self.provider, message: "key_json_pointer '\(text)' is not a JSON pointer.")
            }
            return pointer
        }
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let id = try self.scheme.verify(request)
        try request.requireJSONObjectBody()
        let event = JSONScanner.value(at: Self.type, in: request.body)?.string ?? "unknown"
        let key = self.keyPointer.flatMap { JSONScanner.value(at: $0, in: request.body)?.text }
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        var headers = try StandardWebhooksScheme.sign(
            secret: message.secret,
            privateKey: message.privateKey,
            id: message.id ?? "msg_" + DeliveryID.random(),
            timestamp: message.timestamp,
            body: message.body,
            provider: self.provider
        )
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension StandardWebhooksVerifier {
    /// Standard Webhooks: an `invoice.paid` event. The id travels in `webhook-id`; the key is
    /// `data.id`, as configured with `key_json_pointer: /data/id`. Sign with a `whsec_` secret
    /// (`v1`) or a `whsk_` private key (`v1a`).
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "standard-webhooks",
            event: "invoice.paid",
            body: #"{"type":"invoice.paid","timestamp":"2024-05-14T09:40:12.512Z","data":{"id":"inv_2gH7kLq9Tz4Xw1","object":"invoice","number":"INV-2024-0518","status":"paid","customer_id":"cust_7Pq2Rk9Vm4","customer_email":"jon@example.com","order_id":"ord_1001","currency":"EUR","subtotal":4193,"tax":797,"total":4990,"amount_paid":4990,"amount_due":0,"issued_at":"2024-05-14T09:26:40Z","paid_at":"2024-05-14T09:40:11Z","lines":[{"description":"Hookline T-Shirt (M)","quantity":2,"unit_amount":2495,"amount":4990}],"payment":{"method":"card","brand":"visa","last4":"4242"},"hosted_invoice_url":"https://billing.example.com/i/inv_2gH7kLq9Tz4Xw1"}}"#,
            id: "msg_2gH7mB0cXy5ZqR3tLk8Wv1Np",
            configuration: ProviderConfiguration(keyJSONPointer: "/data/id"),
            expectedKey: "inv_2gH7kLq9Tz4Xw1"
        ),
    ]
}
