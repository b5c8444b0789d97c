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
