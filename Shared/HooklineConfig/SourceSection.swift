import HooklineWebhooks

/// `sources.<name>:` — one webhook endpoint.
@dynamicMemberLookup
package struct SourceSection: Sendable, Hashable {
    /// Which scheme verifies it: `github`, `stripe`, `shopify`, `slack`, `twilio`,
    /// `standard-webhooks`, `discord`, `gitlab`, `hmac-sha256`, `square`, `paddle`, `linear`,
    /// `intercom`. Required.
    package var provider: String
    /// What its provider's verifier reads (`secrets`, `public_keys`, `tolerance_seconds`,
    /// `public_url`, the generic provider's header names and pointers, …), as written: the keys
    /// still in their `${NAME}` and `file:PATH` forms, resolved at start (see
    /// ``SecretResolver``, ``providerConfiguration(secrets:publicKeys:signingTokens:)``). Each is
    /// also read and written as if it were the section's own (`section.secrets`), so a provider
    /// setting is declared once, in ``ProviderConfiguration`` and ``ProviderSetting``.
    package var verification = ProviderConfiguration()
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

    /// A provider setting (``verification``) as if it were the section's own.
    package subscript<Value>(dynamicMember setting: WritableKeyPath<ProviderConfiguration, Value>) -> Value {
        get { self.verification[keyPath: setting] }
        set { self.verification[keyPath: setting] = newValue }
    }

    /// The source's settings as its provider's verifier and signer read them, with these keys
    /// in place of the ones written (see ``SecretResolver``): the gateway resolves all of them,
    /// `hookline send` at most the one it signs with.
    package func providerConfiguration(secrets: [String] = [], publicKeys: [String] = [], signingTokens: [String] = []) -> ProviderConfiguration {
        var resolved = self.verification
        resolved.secrets = secrets
        resolved.publicKeys = publicKeys
        resolved.signingTokens = signingTokens
        return resolved
    }
}
