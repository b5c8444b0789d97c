/// What one configured source (`sources.<name>`) tells its verifier. Built once at start-up.
///
/// A verifier is given its keys resolved (no `${NAME}` or `file:` left). Each provider reads only
/// the properties its scheme uses and says which ones it requires (``WebhookVerifier/settings``).
/// Adding a setting is a property here, its case in ``ProviderSetting`` (its name in
/// configuration) and its line in ``init(from:)``.
public struct ProviderConfiguration: Sendable, Hashable {
    /// Shared secrets: HMAC keys, GitLab's `X-Gitlab-Token` values, Twilio auth tokens,
    /// Standard Webhooks `whsec_…` secrets. Several entries mean rotation: every one is accepted.
    ///
    /// Default: `[]`.
    public var secrets: [String]

    /// Public keys for asymmetric schemes: Discord's application public key (64 hex digits),
    /// Standard Webhooks `whpk_…` keys for `v1a` signatures. Every one is accepted.
    ///
    /// Default: `[]`.
    public var publicKeys: [String]

    /// GitLab 19+ signing tokens (`whsec_…`). When set, GitLab deliveries must carry a valid
    /// Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    ///
    /// Default: `[]`.
    public var signingTokens: [String]

    /// How far a signed timestamp may lie from the current time, in either direction, in seconds.
    ///
    /// Default: `300`.
    public var toleranceSeconds: Int64

    /// The public URL the provider is configured to call, for schemes that sign the URL (Twilio,
    /// Square), which require it: without its query, which each request brings (the gateway
    /// adds the query it received). ``WebhookRequest/url`` overrides it per request.
    ///
    /// Default: `nil`.
    public var publicURL: String?

    /// The header carrying the signature (generic `hmac-sha256` provider).
    ///
    /// Default: `nil`, meaning `X-Signature`.
    public var signatureHeader: String?

    /// A prefix the signature header's value starts with, such as `sha256=` (generic provider).
    ///
    /// Default: `nil` (no prefix).
    public var signaturePrefix: String?

    /// The header carrying the event type (generic provider). With ``eventTypeJSONPointer`` too,
    /// both must name the same event when both are present (else 400), and either suffices alone.
    ///
    /// Default: `nil`.
    public var eventTypeHeader: String?

    /// An RFC 6901 JSON pointer to the event type in the body, such as `/event_type`
    /// (generic provider).
    ///
    /// Default: `nil`. With neither this nor ``eventTypeHeader`` the event is `unknown`.
    public var eventTypeJSONPointer: String?

    /// The header carrying the delivery id (generic provider).
    ///
    /// Default: `nil`, meaning a random UUID per delivery.
    public var idHeader: String?

    /// An RFC 6901 JSON pointer to the entity key in the body (generic and Standard Webhooks
    /// providers), used to order a source's events in Kafka.
    ///
    /// Default: `nil` (no key; the gateway keys by id).
    public var keyJSONPointer: String?

    public init(
        secrets: [String] = [],
        publicKeys: [String] = [],
        signingTokens: [String] = [],
        toleranceSeconds: Int64 = 300,
        publicURL: String? = nil,
        signatureHeader: String? = nil,
        signaturePrefix: String? = nil,
        eventTypeHeader: String? = nil,
        eventTypeJSONPointer: String? = nil,
        idHeader: String? = nil,
        keyJSONPointer: String? = nil
    ) {
        self.secrets = secrets
        self.publicKeys = publicKeys
        self.signingTokens = signingTokens
        self.toleranceSeconds = toleranceSeconds
        self.publicURL = publicURL
        self.signatureHeader = signatureHeader
        self.signaturePrefix = signaturePrefix
        self.eventTypeHeader = eventTypeHeader
        self.eventTypeJSONPointer = eventTypeJSONPointer
        self.idHeader = idHeader
        self.keyJSONPointer = keyJSONPointer
    }
}

extension ProviderConfiguration {
    /// `publicURL`, for a scheme that signs the URL: an absolute http(s) URL without query or fragment.
    func requirePublicURL(provider: String) throws(WebhookConfigurationError) -> String {
        guard let url = self.publicURL else {
            throw WebhookConfigurationError(
                provider: provider,
                message: "Needs public_url: the URL the provider posts to, as configured there (its signature covers it)."
            )
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), !url.contains("?"), !url.contains("#") else {
            throw WebhookConfigurationError(
                provider: provider,
                message: "public_url must be an http(s) URL without a query: the query the provider sends comes with each request."
            )
        }
        return url
    }
}

/// A setting of ``ProviderConfiguration``, by its name in a source's configuration.
public enum ProviderSetting: String, Sendable, CaseIterable, CodingKey {
    case secrets
    case publicKeys = "public_keys"
    case signingTokens = "signing_tokens"
    case toleranceSeconds = "tolerance_seconds"
    case publicURL = "public_url"
    case signatureHeader = "signature_header"
    case signaturePrefix = "signature_prefix"
    case eventTypeHeader = "event_type_header"
    case eventTypeJSONPointer = "event_type_json_pointer"
    case idHeader = "id_header"
    case keyJSONPointer = "key_json_pointer"
}

extension ProviderConfiguration: Decodable {
    /// Reads the settings of a source's configuration by their names (``ProviderSetting``),
    /// leaving the keys as written. Other keys are not read: the source's own settings sit
    /// beside these, and the configuration refuses keys that are neither.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ProviderSetting.self)
        func value<Value: Decodable>(_ setting: ProviderSetting, or fallback: Value) throws -> Value {
            try container.decodeIfPresent(Value.self, forKey: setting) ?? fallback
        }
        let defaults = ProviderConfiguration()
        self.init(
            secrets: try value(.secrets, or: defaults.secrets),
            publicKeys: try value(.publicKeys, or: defaults.publicKeys),
            signingTokens: try value(.signingTokens, or: defaults.signingTokens),
            toleranceSeconds: try value(.toleranceSeconds, or: defaults.toleranceSeconds),
            publicURL: try container.decodeIfPresent(String.self, forKey: .publicURL),
            signatureHeader: try container.decodeIfPresent(String.self, forKey: .signatureHeader),
            signaturePrefix: try container.decodeIfPresent(String.self, forKey: .signaturePrefix),
            eventTypeHeader: try container.decodeIfPresent(String.self, forKey: .eventTypeHeader),
            eventTypeJSONPointer: try container.decodeIfPresent(String.self, forKey: .eventTypeJSONPointer),
            idHeader: try container.decodeIfPresent(String.self, forKey: .idHeader),
            keyJSONPointer: try container.decodeIfPresent(String.self, forKey: .keyJSONPointer)
        )
    }
}
