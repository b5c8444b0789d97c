/// Realistic sample deliveries of every built-in provider: each provider's own
/// (``WebhookVerifier/samples``, at the end of `Providers/<Provider>Verifier.swift`).
public enum WebhookSamples {
    /// Every sample, grouped by provider in the order of ``WebhookProviders/all``.
    public static let all: [WebhookSample] = WebhookProviders.all.flatMap { $0.samples }

    /// The providers that have samples, in the order of ``WebhookProviders/all``.
    public static let providers: [String] = WebhookProviders.names.filter { name in
        all.contains { $0.provider == name }
    }

    /// The samples of provider `name`, or an empty array for an unknown provider.
    public static func samples(provider name: String) -> [WebhookSample] {
        self.all.filter { $0.provider == name }
    }

    /// The sample of provider `name` whose verifier reports `event`.
    public static func sample(provider name: String, event: String) -> WebhookSample? {
        self.all.first { $0.provider == name && $0.event == event }
    }
}
