import Crypto
import HTTPTypes

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. Event `X-GitHub-Event`,
/// id `X-GitHub-Delivery`, key `repository.full_name`, read from the JSON body or, for a hook whose
/// content type is `form` (the REST API's default), from its URL-encoded `payload=` field.
public struct GitHubVerifier: WebhookVerifier {
    public static let provider = "github"
    public static let settings: Set<ProviderSetting> = [.secrets]

    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!
    static let legacySignatureHeader = HTTPField.Name("X-Hub-Signature")!
    static let eventHeader = HTTPField.Name("X-GitHub-Event")!
    static let deliveryHeader = HTTPField.Name("X-GitHub-Delivery")!
    static let repository = JSONPointer(members: "repository", "full_name")

    let keys: HMACKeys<SHA256>

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.deliveryHeader] }

    public var unsignedEventSource: String? { "the X-GitHub-Event header" }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets.")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signature = try headers.signature(Self.signatureHeader)
        guard signature.hasPrefix("sha256="), let code = Hex.decode(signature.dropFirst(7)) else {
            throw .malformedSignature(Self.signatureHeader)
        }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(Self.signatureHeader)
        }
        let event = try headers.optional(Self.eventHeader)
        let id = try headers.required(Self.deliveryHeader)
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: Self.repositoryName(in: request.body))
    }

    /// `repository.full_name`, so that one repository's events keep their order.
    static func repositoryName(in body: [UInt8]) -> String? {
        guard FormBody.looksLikeForm(body) else {
            return JSONScanner.value(at: Self.repository, in: body)?.string
        }
        guard let payload = FormBody.parse(body).first("payload") else { return nil }
        return JSONScanner.value(at: Self.repository, in: Array(payload.utf8))?.string
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        var headers = HTTPFields()
        headers[self.eventHeader] = message.event ?? "ping"
        headers[self.deliveryHeader] = message.id ?? DeliveryID.random()
        headers[self.legacySignatureHeader] = "sha1=" + Hex.encode(HMACKeys<Insecure.SHA1>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[self.signatureHeader] = "sha256=" + Hex.encode(HMACKeys<SHA256>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}
