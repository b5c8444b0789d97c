import HTTPTypes

/// One provider's signature scheme: a verifier created once from configuration (keys decoded
/// there), and a signer producing what the provider itself would send.
///
/// To add a provider, write one conforming type, with its ``samples``, in a file of its own in
/// `Providers/`, and list it in ``WebhookProviders/all``.
public protocol WebhookVerifier: Sendable {
    /// The provider's name as written in configuration, such as `github` or `standard-webhooks`.
    static var provider: String { get }

    /// Realistic deliveries of this provider, at least one: what `hookline send`, `make run`'s
    /// demo and the tests send (every one is sent through a gateway and checked to land in its
    /// topic with its id and key).
    static var samples: [WebhookSample] { get }

    /// The settings of ``ProviderConfiguration`` this provider reads: a source of it that sets
    /// any other is refused at start-up, so a setting meant for another provider is never
    /// silently ignored.
    static var settings: Set<ProviderSetting> { get }

    /// Validates and precomputes keys. Throws when the configuration cannot work.
    init(configuration: ProviderConfiguration) throws(WebhookConfigurationError)

    /// Authenticates `request` over its exact bytes and extracts its routing facts.
    func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook

    /// The headers (and, for Twilio JSON deliveries, the URL) the provider would send for a
    /// delivery of `message.body`.
    static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook

    /// The status that acknowledges a published delivery when the source does not set
    /// `success_status`: 202 (the default), or 200 where the provider's documentation asks for
    /// 200 and does not say another 2xx counts (Paddle).
    static var successStatus: HTTPResponse.Status { get }

    /// The request headers that name the delivery (GitHub's `X-GitHub-Delivery`), in the order
    /// the id is taken from them: what the log line of a refused request quotes, so that an
    /// operator can find the provider's own record of the attempt. Empty (the default) where the
    /// id is only in the body, which a refusal does not read.
    var deliveryIDHeaders: [HTTPField.Name] { get }

    /// Whether verifying checks public-key signatures (Ed25519): about 75 µs a check here, against
    /// 3 µs for the HMAC of a 1.6 KB body. The gateway runs such verifiers off its event loops, so
    /// that a burst of them, or a forged request's checks, does not hold up every other
    /// connection on the loop. False by default.
    var verifiesWithPublicKeys: Bool { get }

    /// What a delivery's event type is read from when the signature does not bind it (GitHub's
    /// `X-GitHub-Event` header), or nil where it does (the default): a captured delivery sent
    /// again under made-up event names would get a topic for each, unless the source lists its
    /// `events:`, which the gateway's start and `--check` then ask for.
    var unsignedEventSource: String? { get }
}

extension WebhookVerifier {
    public var unsignedEventSource: String? { nil }

    public var deliveryIDHeaders: [HTTPField.Name] { [] }

    public var verifiesWithPublicKeys: Bool { false }

    public static var successStatus: HTTPResponse.Status { .accepted }

    /// The delivery id a request names in ``deliveryIDHeaders``, for a log line: the request is not
    /// authenticated, so the value is cut to 128 characters and anything but printable ASCII is
    /// shown as `?`.
    public func deliveryID(in headers: HTTPFields) -> String? {
        guard let value = self.deliveryIDHeaders.lazy.compactMap({ headers[fields: $0].first?.value }).first, !value.isEmpty else { return nil }
        return String(decoding: value.utf8.prefix(128).map { (0x21...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}

/// What a signer needs to produce a provider's delivery.
public struct WebhookSigningInput: Sendable {
    /// The shared secret (HMAC key, GitLab token, Twilio auth token, Standard Webhooks `whsec_…`).
    public var secret: String?
    /// An Ed25519 private key: Discord as hex (32-byte seed or 64-byte seed + public key), Standard
    /// Webhooks as `whsk_` + base64 of the same bytes.
    public var privateKey: String?
    /// GitLab 19+ signing token (`whsec_…`), added beside `X-Gitlab-Token`.
    public var signingToken: String?
    /// The exact body to send.
    public var body: [UInt8]
    /// The event as ``VerifiedWebhook/event`` reports it; providers that send it in a header
    /// convert it back (`orders.create` → `orders/create`, `merge_request` → `Merge Request Hook`).
    /// Ignored by providers that carry the event in the body.
    public var event: String?
    /// The delivery id for providers that send it in a header. Default: a random UUID.
    public var id: String?
    /// The entity key for providers that send it in a header (Shopify's shop domain).
    public var key: String?
    /// The signing time in Unix seconds.
    public var timestamp: Int64
    /// The public URL the delivery is sent to (Twilio, Square).
    public var url: String?
    /// The source's configuration, for the generic provider's header names and prefix.
    public var configuration: ProviderConfiguration

    public init(
        secret: String? = nil,
        privateKey: String? = nil,
        signingToken: String? = nil,
        body: [UInt8],
        event: String? = nil,
        id: String? = nil,
        key: String? = nil,
        timestamp: Int64,
        url: String? = nil,
        configuration: ProviderConfiguration = ProviderConfiguration()
    ) {
        self.secret = secret
        self.privateKey = privateKey
        self.signingToken = signingToken
        self.body = body
        self.event = event
        self.id = id
        self.key = key
        self.timestamp = timestamp
        self.url = url
        self.configuration = configuration
    }
}

/// A signed delivery: the headers to send with the body, and the URL to send it to.
public struct SignedWebhook: Sendable, Hashable {
    public var headerFields: HTTPFields
    /// The URL to post to: the input URL, extended where the scheme requires (Twilio's
    /// `bodySHA256` for JSON bodies). `nil` when the input had none.
    public var url: String?

    public init(headerFields: HTTPFields, url: String?) {
        self.headerFields = headerFields
        self.url = url
    }
}
