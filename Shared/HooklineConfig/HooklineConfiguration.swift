import Foundation
import HooklineWebhooks
import Yams

/// The one configuration file every Hookline process reads (`hookline.yaml`).
///
/// Each process takes its own section: the gateway `kafka`, `gateway` and `sources`; a consumer
/// service `kafka` and `services.<name>`; the monitor `kafka` and `monitor`. Unknown keys are
/// errors, so a typo never silently falls back to a default.
package struct HooklineConfiguration: Sendable {
    package var kafka: KafkaSection
    package var gateway: GatewaySection
    /// Webhook sources by name; each is served at `POST /webhooks/<name>`.
    package var sources: [String: SourceSection]
    /// Consumer services by name (`orders`, `payments`, `ci`, …).
    package var services: [String: ServiceSection]
    package var monitor: MonitorSection

    package init(
        kafka: KafkaSection = .init(),
        gateway: GatewaySection = .init(),
        sources: [String: SourceSection] = [:],
        services: [String: ServiceSection] = [:],
        monitor: MonitorSection = .init()
    ) {
        self.kafka = kafka
        self.gateway = gateway
        self.sources = sources
        self.services = services
        self.monitor = monitor
    }

    /// The repository's configuration, relative to the working directory.
    package static let repositoryPath = "deploy/hookline.yaml"

    /// The configuration file a process reads when not given `--config`: `$HOOKLINE_CONFIG`, else
    /// `deploy/hookline.yaml` when it exists (a checkout's root), else none. The `hookline` CLI
    /// then runs on defaults; the gateway and the monitor refuse to start.
    package static func defaultPath(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String? {
        if let path = environment["HOOKLINE_CONFIG"], !path.isEmpty { return path }
        return fileExists(self.repositoryPath) ? self.repositoryPath : nil
    }

    /// Loads the file an executable was pointed at: `--config` when given, else ``defaultPath(environment:fileExists:)``.
    /// - Throws: a ``ConfigurationError`` saying how to give one when there is none.
    package static func load(commandLinePath path: String?) throws(ConfigurationError) -> HooklineConfiguration {
        guard let path = path ?? self.defaultPath() else {
            throw ConfigurationError("no configuration file: give --config, set HOOKLINE_CONFIG, or run where deploy/hookline.yaml is")
        }
        return try self.load(path: path)
    }

    /// Reads and checks a configuration file. Any value may hold `${NAME}` (the variable, which
    /// must be set) or `${NAME:-default}` (the variable when set and not empty, else the
    /// default), so one file serves the local runner and containers. Sources' secrets are
    /// resolved later, by whoever needs them (see ``SecretResolver``), so that loading a file
    /// never reads another process's secrets. `kafka.brokers` and the values of
    /// `kafka.properties`, which every process needs, may also be `file:PATH`; they are resolved
    /// here.
    package static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> HooklineConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        var configuration = try self.parse(text, origin: path, environment: environment)
        // Every process connects to Kafka, so what it connects with is resolved here: the
        // brokers, and any librdkafka property (a SASL password or a TLS key password, say).
        let resolver = SecretResolver(environment: environment)
        configuration.kafka.brokers = try resolver.resolve(configuration.kafka.brokers, for: "\(path): kafka.brokers")
        if configuration.kafka.brokers.allSatisfy({ $0 == "," || $0.isWhitespace }) {
            throw ConfigurationError("\(path): kafka.brokers names no broker (write host:port, comma-separated for several)")
        }
        for (key, value) in configuration.kafka.properties {
            configuration.kafka.properties[key] = try resolver.resolve(value, for: "\(path): kafka.properties.\(key)")
        }
        return configuration
    }

    /// Parses configuration text, expanding the variables in its values (see
    /// ``load(path:environment:)``). `origin` names it in errors.
    package static func parse(
        _ text: String,
        origin: String = "configuration",
        environment: [String: String] = [:]
    ) throws(ConfigurationError) -> HooklineConfiguration {
        do {
            let node = try Yams.compose(yaml: text) ?? Node.mapping([:])
            let expanded = try ConfigurationVariables.expanding(node, environment: environment)
            let configuration = try YAMLDecoder().decode(HooklineConfiguration.self, from: expanded)
            try configuration.validate()
            return configuration
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(origin): \(error.message)")
        } catch let error as YamlError {
            // Plain `${A:-b}` was valid in a `{ }` mapping while variables were pasted into the text.
            let hint = text.contains("${") ? " (inside { } or [ ], quote a value that holds ${…})" : ""
            throw ConfigurationError("\(origin): not valid YAML: \(error.readableDescription)\(hint)")
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, let underlying = context.underlyingError as? ConfigurationError {
                throw ConfigurationError("\(origin): \(underlying.message)")
            }
            throw ConfigurationError("\(origin): \(error.readableDescription)")
        } catch {
            throw ConfigurationError("\(origin): \(error)")
        }
    }

    private func validate() throws(ConfigurationError) {
        for (name, _) in self.sources where !Self.isValidName(name) {
            throw ConfigurationError("sources.\(name): a source name may use only a-z, 0-9, '_' and '-' (it becomes part of a URL and a topic name)")
        }
        if self.sources[WebhookTopic.deadLetterSource] != nil {
            let topics = WebhookTopic.deadLetters(prefix: self.kafka.topicPrefix, service: "<service>")
            throw ConfigurationError("sources.\(WebhookTopic.deadLetterSource): the name is taken: \(topics) are the consumer services' dead-letter topics")
        }
        if self.kafka.partitions < 1 { throw ConfigurationError("kafka.partitions must be at least 1") }
        if self.kafka.replicationFactor < 1, self.kafka.replicationFactor != -1 {
            throw ConfigurationError("kafka.replication_factor must be at least 1, or -1 for the cluster's default.replication.factor")
        }
        for (key, value) in self.kafka.topicConfig where key.isEmpty || value.isEmpty {
            throw ConfigurationError("kafka.topic_config: \(key.isEmpty ? "a key is empty" : "\(key) has an empty value")")
        }
        if self.kafka.sessionTimeoutMs < 1 { throw ConfigurationError("kafka.session_timeout_ms must be positive") }
        // Kafka's own bound on group.max.session.timeout.ms is 30 minutes by default.
        if self.kafka.sessionTimeoutMs > 3_600_000 { throw ConfigurationError("kafka.session_timeout_ms must be at most 3600000 (an hour)") }
        if !Self.isValidTopicPrefix(self.kafka.topicPrefix) {
            throw ConfigurationError("kafka.topic_prefix may use only A-Z, a-z, 0-9, '.', '_' and '-', at most 200 of them (it begins every topic name)")
        }
        // Every record Hookline acknowledges (a webhook, a dead letter) must be on every in-sync replica.
        // librdkafka also takes `request.required.acks` for it, each with a `topic.` prefix too, and
        // the last one set wins. (The producer reads back what librdkafka made of them as well.)
        for name in ["acks", "request.required.acks", "topic.acks", "topic.request.required.acks"] {
            // A value still to resolve (`${…}`, `file:`) is checked by the producer, which reads back what librdkafka made of it.
            if let acks = self.kafka.properties[name], !["all", "-1"].contains(acks), !acks.contains("${"), !acks.hasPrefix("file:") {
                throw ConfigurationError("kafka.properties.\(name): Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not \(acks)")
            }
        }
        if self.gateway.maxBodyBytes < 1 { throw ConfigurationError("gateway.max_body_bytes must be positive") }
        // The producer's message.max.bytes is this plus 64 KiB, and librdkafka takes at most 1,000,000,000.
        if self.gateway.maxBodyBytes > 104_857_600 { throw ConfigurationError("gateway.max_body_bytes must be at most 104857600 (100 MiB)") }
        if self.gateway.ackTimeoutMs < 1 { throw ConfigurationError("gateway.ack_timeout_ms must be positive") }
        if self.gateway.requestTimeoutMs < 1 { throw ConfigurationError("gateway.request_timeout_ms must be positive") }
        if self.gateway.idleTimeoutMs <= self.gateway.requestTimeoutMs {
            // The request timer must fire first: a client stalled mid-request gets its 408 rather than a bare close.
            throw ConfigurationError("gateway.idle_timeout_ms (\(self.gateway.idleTimeoutMs)) must be longer than gateway.request_timeout_ms (\(self.gateway.requestTimeoutMs))")
        }
        if self.gateway.maxConnections < 1 { throw ConfigurationError("gateway.max_connections must be positive") }
        if self.gateway.shutdownGraceMs < 0 { throw ConfigurationError("gateway.shutdown_grace_ms must not be negative") }
        for (name, source) in self.sources {
            if source.toleranceSeconds < 1 { throw ConfigurationError("sources.\(name).tolerance_seconds must be at least 1") }
            if let ms = source.ackTimeoutMs, ms < 1 { throw ConfigurationError("sources.\(name).ack_timeout_ms must be positive") }
            if let rate = source.rateLimitPerSecond, rate < 1 { throw ConfigurationError("sources.\(name).rate_limit_per_second must be at least 1 (leave it out for no limit)") }
            if let status = source.successStatus, ![200, 202, 204].contains(status) {
                throw ConfigurationError("sources.\(name).success_status is \(status); it may be 200, 202 or 204")
            }
            if let events = source.events, events.isEmpty || events.contains(where: \.isEmpty) {
                throw ConfigurationError("sources.\(name).events lists the event types with topics of their own: leave it out for all, or name at least one")
            }
        }
        for (name, service) in self.services {
            for (field, value) in [("max_attempts", service.maxAttempts), ("dedup_retention_hours", service.dedupRetentionHours), ("batch_size", service.batchSize)] {
                if let value, value < 1 { throw ConfigurationError("services.\(name).\(field) must be at least 1") }
            }
            if service.triggerURL != nil, name != "ci" {
                throw ConfigurationError("services.\(name).trigger_url: only the ci service POSTs build jobs")
            }
            if let hours = service.dedupRetentionHours, hours > 87_600 {
                throw ConfigurationError("services.\(name).dedup_retention_hours must be at most 87600 (ten years)")
            }
        }
        if self.monitor.intervalSeconds < 1 { throw ConfigurationError("monitor.interval_seconds must be at least 1") }
        if self.monitor.windowSeconds < self.monitor.intervalSeconds {
            throw ConfigurationError("monitor.window_seconds must be at least monitor.interval_seconds (a status is judged over several looks)")
        }
    }

    /// A prefix that needs no mapping and leaves room in Kafka's 249 characters (empty: none).
    static func isValidTopicPrefix(_ prefix: String) -> Bool {
        prefix.isEmpty || (prefix.utf8.count <= 200 && WebhookTopic.isLegal(prefix))
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
