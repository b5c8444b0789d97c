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
