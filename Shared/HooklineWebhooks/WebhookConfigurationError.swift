/// A source's configuration cannot work: thrown once, at start-up, by a verifier's initialiser or
/// by a signer. The message names the problem and never contains the secret itself.
public struct WebhookConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var provider: String
    public var message: String

    public init(provider: String, message: String) {
        self.provider = provider
        self.message = message
    }

    public var description: String { "\(self.provider): \(self.message)" }
}
