/// A realistic delivery of one provider's event, with what the provider's verifier extracts from it.
///
/// Use samples to try a source end to end (sign one, post it to the gateway, read it back from
/// Kafka) or to test a consumer with payloads shaped like the real ones. Order-related samples share
/// ids across providers: Shopify order `820982911946154508`, order `ord_1001` in Stripe's
/// `metadata.order_id` and in the generic provider's bodies.
public struct WebhookSample: Sendable {
    /// The provider's name as written in configuration, such as `github`.
    public let provider: String

    /// The event the verifier reports, normalised: `push`, `orders.create`,
    /// `payment_intent.succeeded`, `app_mention`, `message.delivered`.
    public let event: String

    /// The exact body the provider sends: compact JSON, or a form body for Twilio.
    ///
    /// Schemes that hold a timestamp inside the body (Linear's `webhookTimestamp`) are signed over
    /// ``body(at:)`` instead.
    public let body: [UInt8]

    /// The delivery id, for providers that send it in a header (GitHub, GitLab, Shopify, Twilio,
    /// Standard Webhooks, Linear, the generic provider with an `id_header`). `nil` where the body
    /// carries it.
    public let id: String?

    /// The entity key, for providers that send it in a header (Shopify's shop domain).
    public let key: String?

    /// The non-secret settings the expectations assume: the public URL for Twilio and Square, the
    /// generic provider's header names and JSON pointers, the Standard Webhooks key pointer. Add
    /// credentials to build a verifier.
    public let configuration: ProviderConfiguration

    /// The id the verifier reports (``VerifiedWebhook/id``).
    public let expectedID: String

    /// The key the verifier reports (``VerifiedWebhook/key``), such as `repository.full_name`.
    public let expectedKey: String?

    /// A top-level body member holding the delivery time in Unix milliseconds, restamped by
    /// ``body(at:)``.
    let timestampMember: String?

    init(
        provider: String,
        event: String,
        body: String,
        id: String? = nil,
        key: String? = nil,
        configuration: ProviderConfiguration = ProviderConfiguration(),
        expectedID: String? = nil,
        expectedKey: String?,
        timestampMember: String? = nil
    ) {
        self.provider = provider
        self.event = event
        self.body = Array(body.utf8)
        self.id = id
        self.key = key
        self.configuration = configuration
        self.expectedID = expectedID ?? id ?? ""
        self.expectedKey = expectedKey
        self.timestampMember = timestampMember
    }

    /// The body as sent at `timestamp` (Unix seconds): ``body`` with any in-body delivery time
    /// (Linear's `webhookTimestamp`, in milliseconds) set to `timestamp`. Other samples return
    /// ``body`` unchanged.
    public func body(at timestamp: Int64) -> [UInt8] {
        guard let member = self.timestampMember else { return self.body }
        let marker = Array(("\"" + member + "\":").utf8)
        guard let start = self.body.firstRange(of: marker)?.upperBound else { return self.body }
        var end = start
        while end < self.body.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.body[end]) {
            end += 1
        }
        var stamped = self.body
        stamped.replaceSubrange(start..<end, with: Array(String(timestamp * 1000).utf8))
        return stamped
    }

    /// What ``WebhookProviders/sign(provider:_:)`` needs to sign this sample as the provider would.
    ///
    /// - Parameters:
    ///   - secret: The shared secret (HMAC key, GitLab token, Twilio auth token, `whsec_…`).
    ///   - privateKey: An Ed25519 private key (Discord hex seed, Standard Webhooks `whsk_…`).
    ///   - signingToken: A GitLab 19+ signing token (`whsec_…`).
    ///   - timestamp: The signing time in Unix seconds.
    ///   - url: The URL the delivery is sent to. Default: ``configuration``'s public URL.
    ///   - configuration: The source's configuration. Default: ``configuration``.
    public func signingInput(
        secret: String? = nil,
        privateKey: String? = nil,
        signingToken: String? = nil,
        timestamp: Int64,
        url: String? = nil,
        configuration: ProviderConfiguration? = nil
    ) -> WebhookSigningInput {
        let configuration = configuration ?? self.configuration
        return WebhookSigningInput(
            secret: secret,
            privateKey: privateKey,
            signingToken: signingToken,
            body: self.body(at: timestamp),
            event: self.event,
            id: self.id,
            key: self.key,
            timestamp: timestamp,
            url: url ?? configuration.publicURL,
            configuration: configuration
        )
    }
}
