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
