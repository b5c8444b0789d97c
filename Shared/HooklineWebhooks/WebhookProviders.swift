/// The registry of providers: configuration name → verifier type. Adding a provider is its file
/// in `Providers/` (its verifier and its ``WebhookVerifier/samples``) and one line in ``all``.
public enum WebhookProviders {
    /// Every built-in provider.
    public static let all: [any WebhookVerifier.Type] = [
        GitHubVerifier.self,
        GitLabVerifier.self,
        StripeVerifier.self,
        ShopifyVerifier.self,
        SlackVerifier.self,
        TwilioVerifier.self,
        StandardWebhooksVerifier.self,
        DiscordVerifier.self,
        GenericHMACVerifier.self,
        SquareVerifier.self,
        PaddleVerifier.self,
        LinearVerifier.self,
        IntercomVerifier.self,
    ]

    /// The provider names, as written in configuration.
    public static var names: [String] { self.all.map { $0.provider } }

    /// The provider called `name` in configuration.
    public static func provider(named name: String) -> (any WebhookVerifier.Type)? {
        self.all.first { $0.provider == name }
    }

    /// A verifier for a source of provider `name`.
    public static func makeVerifier(
        provider name: String,
        configuration: ProviderConfiguration
    ) throws(WebhookConfigurationError) -> any WebhookVerifier {
        guard let type = self.provider(named: name) else {
            throw WebhookConfigurationError(
                provider: name,
                message: "unknown provider \"\(name)\"; known providers: \(self.names.joined(separator: ", "))"
            )
        }
        let keys: [(ProviderSetting, [String])] = [(.secrets, configuration.secrets), (.publicKeys, configuration.publicKeys), (.signingTokens, configuration.signingTokens)]
        for (setting, values) in keys {
            if let index = values.firstIndex(where: \.isEmpty) {
                throw WebhookConfigurationError(provider: name, message: "\(setting.rawValue)[\(index)] is empty, and anyone can sign with an empty key")
            }
        }
        return try type.init(configuration: configuration)
    }

    /// Signs a delivery as provider `name` would.
    public static func sign(provider name: String, _ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        guard let type = self.provider(named: name) else {
            throw WebhookConfigurationError(provider: name, message: "unknown provider \"\(name)\"")
        }
        return try type.sign(message)
    }
}
