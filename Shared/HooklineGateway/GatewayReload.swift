import HooklineConfig
import Logging
import ServiceLifecycle
import UnixSignals

extension Gateway {
    /// The source names a reload added and removed (the others kept their names, with their
    /// settings and secrets read again).
    struct SourceChanges {
        var added: [String]
        var removed: [String]
    }

    /// Serves the sources of `configuration` from now on, their secrets resolved again (a rotated
    /// `file:` secret is read anew). Requests already read keep the source they arrived with.
    /// Throws, changing nothing, when a source is invalid or needs a longer ack timeout than the
    /// running producer was made with.
    func reload(_ configuration: HooklineConfiguration, secrets: SecretResolver) throws(ConfigurationError) -> SourceChanges {
        let sources = try GatewaySource.makeAll(configuration, secrets: secrets)
        let longest = self.publisher.longestAckTimeoutMs
        if let (name, source) = sources.sorted(by: { $0.key < $1.key }).first(where: { $0.value.ackTimeoutMs > longest }) {
            throw ConfigurationError(
                "sources.\(name).ack_timeout_ms: \(source.ackTimeoutMs) ms is longer than the \(longest) ms this process started with; restart to apply it"
            )
        }
        let previous = Set(self.sources.replace(with: sources).keys)
        let current = Set(sources.keys)
        return SourceChanges(added: current.subtracting(previous).sorted(), removed: previous.subtracting(current).sorted())
    }
}

/// Reloads the gateway's `sources:` from its configuration file on SIGHUP, so a secret can be
/// rotated or a source added without a restart. `kafka:` and `gateway:` take effect at the next
/// start; a reload that finds them changed says so. A configuration that does not load, or a
/// source that does not build, leaves the sources served as they were.
struct ConfigurationReloader: Service, CustomStringConvertible {
    let gateway: Gateway
    /// The configuration the process started with.
    let started: HooklineConfiguration
    let load: @Sendable () throws(ConfigurationError) -> HooklineConfiguration
    let secrets: SecretResolver
    /// SIGHUP, trapped before the server starts so an early one cannot end the process.
    let signals: UnixSignalsSequence
    let logger: Logger

    /// What service-lifecycle logs for it: the default would print the configuration and the
    /// environment the secrets are resolved from.
    var description: String { "ConfigurationReloader(SIGHUP)" }

    func run() async {
        for await _ in self.signals.cancelOnGracefulShutdown() {
            self.reload()
        }
    }

    func reload() {
        do throws(ConfigurationError) {
            var configuration = try self.load()
            let restartOnly = [("kafka", configuration.kafka != self.started.kafka), ("gateway", configuration.gateway != self.started.gateway)]
                .filter(\.1).map(\.0)
            // Only sources: changes; the sources' defaults (gateway.ack_timeout_ms) stay as started.
            configuration.kafka = self.started.kafka
            configuration.gateway = self.started.gateway
            let changes = try self.gateway.reload(configuration, secrets: self.secrets)
            self.gateway.metrics.reload(applied: true)
            self.logger.info(
                "sources reloaded",
                metadata: [
                    "hookline.sources": "\(GatewaySource.summary(self.gateway.sources.all))",
                    "hookline.added": "\(changes.added.joined(separator: ","))",
                    "hookline.removed": "\(changes.removed.joined(separator: ","))",
                ]
            )
            // As at start: the sources now served that should list their events.
            GatewaySource.warnOfUnlistedEvents(self.gateway.sources.all, logger: self.logger)
            if !restartOnly.isEmpty {
                self.logger.warning(
                    "changes outside sources: take effect at the next restart",
                    metadata: ["hookline.sections": "\(restartOnly.joined(separator: ","))"]
                )
            }
        } catch {
            self.gateway.metrics.reload(applied: false)
            self.logger.error("configuration not reloaded; the sources served are unchanged", metadata: ["error": "\(error.message)"])
        }
    }
}
