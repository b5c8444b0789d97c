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

// MARK: - Samples

extension IntercomVerifier {
    /// Intercom: `conversation.user.created`, a customer starting a conversation. The event and id
    /// come from the body (`topic`, `id`); the key is `data.item.id`, the conversation.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "intercom",
            event: "conversation.user.created",
            body: #"{"type":"notification_event","app_id":"ecahpwf5","data":{"type":"notification_event_data","item":{"type":"conversation","id":"147000000000312","created_at":1715679912,"updated_at":1715679912,"title":null,"state":"open","open":true,"read":false,"priority":"not_priority","waiting_since":1715679912,"source":{"type":"conversation","id":"2108913664","delivered_as":"customer_initiated","subject":"","body":"<p>Hi, where is my order #1001? It was paid on Tuesday.</p>","author":{"type":"user","id":"6643a1f2c9e77d1b2e4f8a90","name":"Jon Snow","email":"jon@example.com"},"url":"https://shop.example.com/orders/ord_1001"},"contacts":{"type":"contact.list","contacts":[{"type":"contact","id":"6643a1f2c9e77d1b2e4f8a90","external_id":"cust_7Pq2Rk9Vm4"}]},"admin_assignee_id":null,"team_assignee_id":null,"tags":{"type":"tag.list","tags":[]}}},"links":{},"id":"notif_8e2f4a60-7b1c-4d3e-9f5a-0c2e4b6d8f13","topic":"conversation.user.created","delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1715679913,"created_at":1715679913,"self":null}"#,
            expectedID: "notif_8e2f4a60-7b1c-4d3e-9f5a-0c2e4b6d8f13",
            expectedKey: "147000000000312"
        ),
    ]
}
