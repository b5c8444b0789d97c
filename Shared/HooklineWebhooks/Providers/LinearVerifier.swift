import Crypto
import HTTPTypes

/// Linear: `Linear-Signature`, hex HMAC-SHA256 of the body; freshness from the body's
/// `webhookTimestamp` (Unix milliseconds) held to the tolerance. Event `<type>.<action>` lowercased
/// (`Issue` + `create` → `issue.create`; just the type when there is no action), checked against
/// `Linear-Event` when present; id `Linear-Delivery`; key `data.id`.
public struct LinearVerifier: WebhookVerifier {
    public static let provider = "linear"
    public static let settings: Set<ProviderSetting> = [.secrets, .toleranceSeconds]

    static let signatureHeader = HTTPField.Name("Linear-Signature")!
    static let deliveryHeader = HTTPField.Name("Linear-Delivery")!
    static let eventHeader = HTTPField.Name("Linear-Event")!
    static let type = JSONPointer(members: "type")
    static let action = JSONPointer(members: "action")
    static let webhookTimestamp = JSONPointer(members: "webhookTimestamp")
    static let object = JSONPointer(members: "data", "id")

    let keys: HMACKeys<SHA256>
    let tolerance: Int64

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.deliveryHeader] }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the webhook's signing secret).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.tolerance = configuration.toleranceSeconds
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signature = try headers.signature(Self.signatureHeader)
        guard let code = Hex.decode(signature) else { throw .malformedSignature(Self.signatureHeader) }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(Self.signatureHeader)
        }
        try request.requireJSONObjectBody()
        guard let milliseconds = JSONScanner.value(at: Self.webhookTimestamp, in: request.body)?.integer else {
            throw .malformedBody("a Linear payload with a numeric webhookTimestamp")
        }
        try Timestamp.check(milliseconds / 1000, now: request.now, tolerance: self.tolerance)
        let type = JSONScanner.value(at: Self.type, in: request.body)?.string
        if let type, let headerEvent = try headers.optional(Self.eventHeader), headerEvent.lowercased() != type.lowercased() {
            throw .eventMismatch(Self.eventHeader, "type")
        }
        let action = JSONScanner.value(at: Self.action, in: request.body)?.string ?? ""
        let event = type.map { action.isEmpty ? $0.lowercased() : $0.lowercased() + "." + action.lowercased() }
        let id = try headers.optional(Self.deliveryHeader) ?? DeliveryID.random()
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        var headers = HTTPFields()
        headers[self.signatureHeader] = Hex.encode(HMACKeys<SHA256>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[self.deliveryHeader] = message.id ?? DeliveryID.random()
        if let type = JSONScanner.value(at: self.type, in: message.body)?.string {
            headers[self.eventHeader] = type
        }
        headers[.contentType] = "application/json; charset=utf-8"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension LinearVerifier {
    /// Linear: an issue created (`Issue` + `create` → `issue.create`). Freshness comes from the body's
    /// `webhookTimestamp` (Unix milliseconds), so the body is restamped when signed
    /// (``WebhookSample/body(at:)``). The id travels in `Linear-Delivery`; the key is `data.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "linear",
            event: "issue.create",
            body: ##"{"action":"create","actor":{"id":"2e6eea91-1111-4f87-8a4b-6a1d7c0e9f11","name":"Ada Lovelace","email":"ada@example.com","type":"user"},"createdAt":"2024-05-14T09:48:21.417Z","data":{"id":"5b1f2d7e-3c4a-4e9b-8d6f-0a2c4e6f8b13","identifier":"HOOK-214","number":214,"title":"Gateway answers 500 when the body is empty","description":"POSTing an empty body to /hooks/github returns 500 instead of 400.","priority":2,"priorityLabel":"High","estimate":2,"createdAt":"2024-05-14T09:48:21.417Z","updatedAt":"2024-05-14T09:48:21.417Z","teamId":"9f3a7c1e-5b2d-4a8f-b6e0-1c3d5e7f9a24","stateId":"c4d8e2f6-0a1b-4c3d-9e5f-7a8b9c0d1e35","state":{"id":"c4d8e2f6-0a1b-4c3d-9e5f-7a8b9c0d1e35","name":"Todo","type":"unstarted","color":"#e2e2e2"},"team":{"id":"9f3a7c1e-5b2d-4a8f-b6e0-1c3d5e7f9a24","key":"HOOK","name":"Hookline"},"labelIds":["e7a1b3c5-d7e9-4f1a-8b3c-5d7e9f1a3b46"],"labels":[{"id":"e7a1b3c5-d7e9-4f1a-8b3c-5d7e9f1a3b46","name":"Bug","color":"#eb5757"}],"creatorId":"2e6eea91-1111-4f87-8a4b-6a1d7c0e9f11","assigneeId":null},"type":"Issue","url":"https://linear.app/hookline/issue/HOOK-214/gateway-answers-500-when-the-body-is-empty","organizationId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c57","webhookTimestamp":1715680101512,"webhookId":"f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a68"}"##,
            id: "4d7f0a2c-6e9b-4c1d-8f3a-5b7d9e1f3a80",
            expectedKey: "5b1f2d7e-3c4a-4e9b-8d6f-0a2c4e6f8b13",
            timestampMember: "webhookTimestamp"
        ),
    ]
}
