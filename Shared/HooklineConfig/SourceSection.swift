/// `sources.<name>:` — one webhook endpoint.
public struct SourceSection: Sendable, Hashable {
    /// Which scheme verifies it: `github`, `stripe`, `shopify`, `slack`, `twilio`,
    /// `standard-webhooks`, `discord`, `gitlab`, `hmac-sha256`, `square`, `paddle`, `linear`,
    /// `intercom`. Required.
    public var provider: String
    /// Shared secrets; several mean rotation. `${NAME}` reads the environment and `file:PATH` a
    /// file, at start. Default: empty
    public var secrets: [String] = []
    /// Public keys (Discord hex, Standard Webhooks `whpk_…`). Same `${…}`/`file:` forms. Default: empty
    public var publicKeys: [String] = []
    /// GitLab 19+ signing tokens (`whsec_…`). Same forms. Default: empty
    public var signingTokens: [String] = []
    /// Allowed clock skew of signed timestamps, both directions. Default: `300`
    public var toleranceSeconds: Int64 = 300
    /// The public URL the provider calls (Twilio, Square sign it). Default: none
    public var publicURL: String?
    /// Generic provider: the signature header. Default: `X-Signature`
    public var signatureHeader: String?
    /// Generic provider: the signature's prefix, such as `sha256=`. Default: none
    public var signaturePrefix: String?
    /// Generic provider: the header naming the event. Default: none
    public var eventTypeHeader: String?
    /// Generic provider: a JSON pointer to the event in the body, such as `/event_type`. Default: none
    public var eventTypeJSONPointer: String?
    /// Generic provider: the header carrying the delivery id. Default: none (a UUID per delivery)
    public var idHeader: String?
    /// A JSON pointer to the entity key in the body, where the provider has no built-in one. Default: none
    public var keyJSONPointer: String?
    /// Overrides `gateway.ack_timeout_ms` for this source (Slack retries after 3 s). Default: none
    public var ackTimeoutMs: Int?
    /// Requests per second this source may send before getting 429. Default: none (unlimited)
    public var rateLimitPerSecond: Int?
    /// The event types published to topics of their own; any other goes to
    /// `<prefix>.<source>.unknown` (still accepted, its `ce_type` unchanged), so the topics a source
    /// can create are bounded. Default: none (every event type gets its topic)
    public var events: [String]?
    /// The status that acknowledges a published delivery: 200, 202 or 204 (no body), for a
    /// sender that takes only one of them as success. Default: the provider's (202; Paddle 200)
    public var successStatus: Int?

    public init(provider: String) {
        self.provider = provider
    }
}
