/// `sources.<name>:` — one webhook endpoint.
package struct SourceSection: Sendable, Hashable {
    /// Which scheme verifies it: `github`, `stripe`, `shopify`, `slack`, `twilio`,
    /// `standard-webhooks`, `discord`, `gitlab`, `hmac-sha256`, `square`, `paddle`, `linear`,
    /// `intercom`. Required.
    package var provider: String
    /// Shared secrets; several mean rotation. `${NAME}` reads the environment and `file:PATH` a
    /// file, at start. Default: empty
    package var secrets: [String] = []
    /// Public keys (Discord hex, Standard Webhooks `whpk_…`). Same `${…}`/`file:` forms. Default: empty
    package var publicKeys: [String] = []
    /// GitLab 19+ signing tokens (`whsec_…`). Same forms. Default: empty
    package var signingTokens: [String] = []
    /// Allowed clock skew of signed timestamps, both directions. Default: `300`
    package var toleranceSeconds: Int64 = 300
    /// The public URL the provider calls (Twilio, Square sign it). Default: none
    package var publicURL: String?
    /// Generic provider: the signature header. Default: `X-Signature`
    package var signatureHeader: String?
    /// Generic provider: the signature's prefix, such as `sha256=`. Default: none
    package var signaturePrefix: String?
    /// Generic provider: the header naming the event. Default: none
    package var eventTypeHeader: String?
    /// Generic provider: a JSON pointer to the event in the body, such as `/event_type`. Default: none
    package var eventTypeJSONPointer: String?
    /// Generic provider: the header carrying the delivery id. Default: none (a UUID per delivery)
    package var idHeader: String?
    /// A JSON pointer to the entity key in the body, where the provider has no built-in one. Default: none
    package var keyJSONPointer: String?
    /// Overrides `gateway.ack_timeout_ms` for this source (Slack retries after 3 s). Default: none
    package var ackTimeoutMs: Int?
    /// Requests per second this source may send before getting 429. Default: none (unlimited)
    package var rateLimitPerSecond: Int?
    /// The event types published to topics of their own; any other goes to
    /// `<prefix>.<source>.unknown` (still accepted, its `ce_type` unchanged), so the topics a source
    /// can create are bounded. Default: none (every event type gets its topic)
    package var events: [String]?
    /// The status that acknowledges a published delivery: 200, 202 or 204 (no body), for a
    /// sender that takes only one of them as success. Default: the provider's (202; Paddle 200)
    package var successStatus: Int?

    package init(provider: String) {
        self.provider = provider
    }
}
