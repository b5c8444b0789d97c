import HooklineWebhooks

extension SourceSection {
    /// The source's settings as its provider's verifier and signer read them. Keys are passed in
    /// resolved (see ``SecretResolver``): the gateway resolves all of them, `hookline send` at
    /// most the one it signs with.
    package func providerConfiguration(secrets: [String] = [], publicKeys: [String] = [], signingTokens: [String] = []) -> ProviderConfiguration {
        ProviderConfiguration(
            secrets: secrets,
            publicKeys: publicKeys,
            signingTokens: signingTokens,
            toleranceSeconds: self.toleranceSeconds,
            publicURL: self.publicURL,
            signatureHeader: self.signatureHeader,
            signaturePrefix: self.signaturePrefix,
            eventTypeHeader: self.eventTypeHeader,
            eventTypeJSONPointer: self.eventTypeJSONPointer,
            idHeader: self.idHeader,
            keyJSONPointer: self.keyJSONPointer
        )
    }
}
