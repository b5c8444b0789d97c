import HTTPTypes
import HooklineConfig
import HooklineWebhooks
import Logging
import Synchronization

/// One configured webhook endpoint, ready to serve: its verifier holds decoded keys. A class:
/// every request's callbacks capture it, and a reference is one retain where the fields are seven.
final class GatewaySource: Sendable {
    let name: String
    let provider: String
    let verifier: any WebhookVerifier
    /// The public URL for schemes that sign the URL (Twilio, Square).
    let publicURL: String?
    /// How long a write of this source may wait for the broker's acknowledgement before its 503.
    let ackTimeoutMs: Int
    let rateLimiter: RateLimiter?
    /// `/webhooks/<name>`, the CloudEvents source.
    let ceSource: String
    /// The events with topics of their own (spelled as topic names spell them); nil for all.
    let events: Set<String>?
    /// What acknowledges a published delivery: the source's `success_status`, else the provider's.
    let successStatus: HTTPResponse.Status

    init(
        name: String,
        provider: String,
        verifier: any WebhookVerifier,
        publicURL: String?,
        ackTimeoutMs: Int,
        rateLimiter: RateLimiter?,
        events: [String]? = nil,
        successStatus: Int? = nil
    ) {
        self.name = name
        self.provider = provider
        self.verifier = verifier
        self.publicURL = publicURL
        self.ackTimeoutMs = ackTimeoutMs
        self.rateLimiter = rateLimiter
        self.ceSource = WebhookTopic.ceSource(name)
        self.events = events.map { Set($0.map(WebhookTopic.eventName)) }
        self.successStatus = successStatus.map { HTTPResponse.Status(code: $0) } ?? type(of: verifier).successStatus
    }

    /// What to say of a source that lists no `events:` while its provider's signature leaves the
    /// event type open (``WebhookVerifier/unsignedEventSource``), for the log (`--check` prefixes
    /// `warning: `, as with ``KafkaSection/unfamiliarTopicConfigMessage``); nil otherwise.
    var unlistedEventsMessage: String? {
        guard self.events == nil, let source = self.verifier.unsignedEventSource else { return nil }
        return "sources.\(self.name): its event type comes from \(source), which the signature does not cover: a captured delivery sent "
            + "again under made-up event names would get a topic for each; list the events you subscribe to in events: (docs/gateway.md, Routing)"
    }

    /// Logs ``unlistedEventsMessage`` of each of `sources` that has one, by name.
    static func warnOfUnlistedEvents(_ sources: [String: GatewaySource], logger: Logger) {
        for source in sources.values.sorted(by: { $0.name < $1.name }) {
            if let message = source.unlistedEventsMessage { logger.warning("\(message)") }
        }
    }

    /// The event a delivery's topic is named after: its own, or `unknown` when ``events`` leaves it out.
    func topicEvent(_ event: String) -> String {
        guard let events = self.events, !events.contains(event) else { return event }
        return WebhookTopic.unknownEvent
    }

    /// Builds every source of the configuration, resolving its secrets.
    static func makeAll(
        _ configuration: HooklineConfiguration,
        secrets: SecretResolver
    ) throws(ConfigurationError) -> [String: GatewaySource] {
        var sources: [String: GatewaySource] = [:]
        for (name, section) in configuration.sources.sorted(by: { $0.key < $1.key }) {
            let field = "sources.\(name)"
            let providerConfiguration = section.providerConfiguration(
                secrets: try secrets.resolve(section.secrets, for: "\(field).secrets"),
                publicKeys: try secrets.resolve(section.publicKeys, for: "\(field).public_keys"),
                signingTokens: try secrets.resolve(section.signingTokens, for: "\(field).signing_tokens")
            )
            let verifier: any WebhookVerifier
            do {
                verifier = try WebhookProviders.makeVerifier(provider: section.provider, configuration: providerConfiguration)
            } catch {
                throw ConfigurationError("\(field): \(error.message)")
            }
            sources[name] = GatewaySource(
                name: name,
                provider: section.provider,
                verifier: verifier,
                publicURL: section.publicURL,
                ackTimeoutMs: section.ackTimeoutMs ?? configuration.gateway.ackTimeoutMs,
                rateLimiter: section.rateLimitPerSecond.map { RateLimiter(perSecond: $0) },
                events: section.events,
                successStatus: section.successStatus
            )
        }
        return sources
    }

    /// `name=provider,…` by name, for the log lines that say what is served.
    static func summary(_ sources: [String: GatewaySource]) -> String {
        sources.keys.sorted().map { "\($0)=\(sources[$0]!.provider)" }.joined(separator: ",")
    }
}

/// The sources being served, replaced whole when the configuration is reloaded (SIGHUP). A
/// request keeps the source it was given when it arrived.
final class SourceTable: Sendable {
    private let table: Mutex<[String: GatewaySource]>

    init(_ sources: [String: GatewaySource]) {
        self.table = Mutex(sources)
    }

    subscript(name: String) -> GatewaySource? {
        self.table.withLock { $0[name] }
    }

    var all: [String: GatewaySource] {
        self.table.withLock { $0 }
    }

    /// Serves `sources` from now on; returns the ones they replace.
    func replace(with sources: [String: GatewaySource]) -> [String: GatewaySource] {
        self.table.withLock { table in
            defer { table = sources }
            return table
        }
    }
}
