import Crypto
import HTTPTypes

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 (the subscription's signature key)
/// over the notification URL followed by the body. Event body `type`, id body `event_id`, key
/// `data.id`.
public struct SquareVerifier: WebhookVerifier {
    public static let provider = "square"
    public static let settings: Set<ProviderSetting> = [.secrets, .publicURL]

    static let signatureHeader = HTTPField.Name("x-square-hmacsha256-signature")!
    static let type = JSONPointer(members: "type")
    static let eventID = JSONPointer(members: "event_id")
    static let object = JSONPointer(members: "data", "id")

    let keys: HMACKeys<SHA256>
    let publicURL: String

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the signature key).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.publicURL = try configuration.requirePublicURL(provider: Self.provider)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let signature = try request.headerFields.signature(Self.signatureHeader)
        guard let code = Base64.decode(signature) else { throw .malformedSignature(Self.signatureHeader) }
        let url = request.url ?? self.publicURL
        guard
            self.keys.authenticates(code, { hmac in
                hmac.update(utf8: url)
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(Self.signatureHeader)
        }
        try request.requireJSONObjectBody()
        let event = JSONScanner.value(at: Self.type, in: request.body)?.string ?? "unknown"
        let id = JSONScanner.value(at: Self.eventID, in: request.body)?.string ?? DeliveryID.random()
        let key = JSONScanner.value(at: Self.object, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        guard let url = message.url ?? message.configuration.publicURL else {
            throw WebhookConfigurationError(provider: self.provider, message: "Signing needs the notification URL.")
        }
        var headers = HTTPFields()
        headers[self.signatureHeader] = Base64.encode(HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: url)
            hmac.update(bytes: message.body)
        })
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: url)
    }
}

// MARK: - Samples

extension SquareVerifier {
    /// The notification URL the Square samples are signed for.
    static let squareURL = "https://hooks.example.com/hooks/square"

    /// Square: `payment.updated` for a completed 49.90 EUR card payment, signed together with
    /// ``squareURL``. The event and id come from the body (`type`, `event_id`); the key is `data.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "square",
            event: "payment.updated",
            body: #"{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2024-05-14T09:26:52.218Z","data":{"type":"payment","id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY","object":{"payment":{"id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY","created_at":"2024-05-14T09:26:49.106Z","updated_at":"2024-05-14T09:26:52.214Z","amount_money":{"amount":4990,"currency":"EUR"},"total_money":{"amount":4990,"currency":"EUR"},"approved_money":{"amount":4990,"currency":"EUR"},"status":"COMPLETED","source_type":"CARD","card_details":{"status":"CAPTURED","card":{"card_brand":"VISA","last_4":"4242","exp_month":8,"exp_year":2027},"entry_method":"KEYED"},"location_id":"L88917AVBK2S5","order_id":"CAISEM82RcpmcFBM0TfOyiHV3es","reference_id":"ord_1001","buyer_email_address":"jon@example.com","receipt_number":"hYy9","receipt_url":"https://squareup.com/receipt/preview/hYy9pRFVxpDsO1FB05SunFWUe9JZY","version":3}}}}"#,
            configuration: ProviderConfiguration(publicURL: squareURL),
            expectedID: "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
            expectedKey: "hYy9pRFVxpDsO1FB05SunFWUe9JZY"
        ),
    ]
}
