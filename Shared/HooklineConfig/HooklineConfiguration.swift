import Foundation
import HooklineWebhooks
import Yams

/// The one configuration file every Hookline process reads (`hookline.yaml`).
///
/// Each process takes its own section: the gateway `kafka`, `gateway` and `sources`; a consumer
/// service `kafka` and `services.<name>`; the monitor `kafka` and `monitor`. Unknown keys are
/// errors, so a typo never silently falls back to a default.
public struct HooklineConfiguration: Sendable {
    public var kafka: KafkaSection
    public var gateway: GatewaySection
    /// Webhook sources by name; each is served at `POST /webhooks/<name>`.
    public var sources: [String: SourceSection]
    /// Consumer services by name (`orders`, `payments`, `ci`, …).
    public var services: [String: ServiceSection]
    public var monitor: MonitorSection

    public init(
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
    public static let repositoryPath = "deploy/hookline.yaml"

    /// The configuration file a process reads when not given `--config`: `$HOOKLINE_CONFIG`, else
    /// `deploy/hookline.yaml` when it exists (a checkout's root), else none. The `hookline` CLI
    /// then runs on defaults; the gateway and the monitor refuse to start.
    public static func defaultPath(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String? {
        if let path = environment["HOOKLINE_CONFIG"], !path.isEmpty { return path }
        return fileExists(self.repositoryPath) ? self.repositoryPath : nil
    }

    /// Loads the file an executable was pointed at: `--config` when given, else ``defaultPath(environment:fileExists:)``.
    /// - Throws: a ``ConfigurationError`` saying how to give one when there is none.
    public static func load(commandLinePath path: String?) throws(ConfigurationError) -> HooklineConfiguration {
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
    public static func load(
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
    public static func parse(
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

/// `kafka:` — the cluster every process talks to.
public struct KafkaSection: Sendable, Hashable {
    /// `bootstrap.servers`. Default: `127.0.0.1:9092`
    public var brokers: String = "127.0.0.1:9092"
    /// First part of every topic name: `<prefix>.<source>.<event>`. Default: `webhooks`
    public var topicPrefix: String = "webhooks"
    /// Partitions of the topics Hookline creates. Default: `6`
    public var partitions: Int32 = 6
    /// Replication factor of the topics Hookline creates; `-1` leaves it to the cluster's
    /// `default.replication.factor`. Default: `-1`
    public var replicationFactor: Int32 = -1
    /// Topic-level configuration of the topics Hookline creates (webhook and dead-letter topics),
    /// such as `min.insync.replicas` or `retention.ms`; what it leaves out comes from the cluster's
    /// defaults. Default: empty
    public var topicConfig: [String: String] = [:]
    /// Consumer `session.timeout.ms`. Default: `45000` (use 6000 with the embedded broker)
    public var sessionTimeoutMs: Int = 45_000
    /// Any librdkafka property, passed through unchanged. Default: empty
    public var properties: [String: String] = [:]

    public init() {}

    /// The topic-level settings Apache Kafka knows (its `TopicConfig`, 3.x and 4.x). A cluster
    /// refuses to create a topic with any other, so a misspelt `topic_config` key fails the
    /// creation of every topic Hookline makes.
    public static let kafkaTopicSettings: Set<String> = [
        "cleanup.policy", "compression.type", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
        "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
        "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
        "max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
        "message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
        "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
        "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable", "retention.bytes", "retention.ms",
        "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
    ]

    /// `topic_config` keys that are neither Apache Kafka's topic settings nor in a platform's own
    /// namespace (`confluent.`, `redpanda.`): most likely misspelt. `--check` and start-up name
    /// them; they are still sent, since a platform may know them.
    public var unfamiliarTopicConfigKeys: [String] {
        self.topicConfig.keys.filter { key in
            !Self.kafkaTopicSettings.contains(key) && !key.hasPrefix("confluent.") && !key.hasPrefix("redpanda.")
        }.sorted()
    }

    /// What is wrong with ``unfamiliarTopicConfigKeys``, for the log; nil when there are none.
    public var unfamiliarTopicConfigMessage: String? {
        let keys = self.unfamiliarTopicConfigKeys
        guard !keys.isEmpty else { return nil }
        return "kafka.topic_config: \(keys.joined(separator: ", ")) \(keys.count == 1 ? "is not a topic setting" : "are not topic settings") Apache Kafka knows (misspelt?); a cluster refuses to create a topic with one"
    }

    /// The same as a `--check` line.
    public var unfamiliarTopicConfigWarning: String? { self.unfamiliarTopicConfigMessage.map { "warning: " + $0 } }
}

/// `gateway:` — the HTTP side of every gateway replica.
public struct GatewaySection: Sendable, Hashable {
    /// `HOST:PORT` to listen on; `--listen` overrides it per replica. Default: `0.0.0.0:8080`
    public var listen: String = "0.0.0.0:8080"
    /// Largest body accepted; larger requests get 413 while being read. Default: `1048576`
    public var maxBodyBytes: Int = 1_048_576
    /// How long to wait for the broker's acknowledgement before answering 503. Default: `5000`
    public var ackTimeoutMs: Int = 5000
    /// How long a client may take to send its request before it is cut off. Default: `10000`
    public var requestTimeoutMs: Int = 10_000
    /// How long a kept-alive connection may wait for its next request. Longer than the 60 s a load
    /// balancer in front (AWS ALB, nginx) keeps an idle connection to a replica, so that the
    /// gateway never closes one just as the balancer sends on it. Default: `75000`
    public var idleTimeoutMs: Int = 75_000
    /// Most connections open at once; at the limit, accepting waits until one closes.
    /// Default: `4096`
    public var maxConnections: Int = 4096
    /// This replica's name in the `hookline-gateway` header. Default: the host name and port
    public var replicaID: String?
    /// How long SIGTERM waits for in-flight acknowledgements before exiting. Default: `10000`
    public var shutdownGraceMs: Int = 10_000

    public init() {}

    /// The largest Kafka record a gateway writes: a body of `max_body_bytes` and 64 KiB for its
    /// headers, key and framing (the CloudEvents headers and a key are a few hundred bytes). What
    /// producers of such records (the gateway's, a dead-letter redrive's) must be able to send.
    public var largestRecordBytes: Int {
        self.maxBodyBytes + 65_536
    }
}

/// `sources.<name>:` — one webhook endpoint.
public struct SourceSection: Sendable, Hashable {
    /// Which scheme verifies it: `github`, `stripe`, `shopify`, `slack`, `twilio`,
    /// `standard-webhooks`, `discord`, `gitlab`, `hmac-sha256`, `square`, `paddle`, `linear`,
    /// `intercom`. Required.
    public var provider: String
    /// Shared secrets; several mean rotation. `${NAME}` reads the environment and `file:PATH` a
    /// file, at start. Default: empty
    public var secrets: [String] = []
    /// Public keys (Discord hex, Standard Webhooks `whpk_…`). Same `${…}`/`file:` forms. Default: empty
    public var publicKeys: [String] = []
    /// GitLab 19+ signing tokens (`whsec_…`). Same forms. Default: empty
    public var signingTokens: [String] = []
    /// Allowed clock skew of signed timestamps, both directions. Default: `300`
    public var toleranceSeconds: Int64 = 300
    /// The public URL the provider calls (Twilio, Square sign it). Default: none
    public var publicURL: String?
    /// Generic provider: the signature header. Default: `X-Signature`
    public var signatureHeader: String?
    /// Generic provider: the signature's prefix, such as `sha256=`. Default: none
    public var signaturePrefix: String?
    /// Generic provider: the header naming the event. Default: none
    public var eventTypeHeader: String?
    /// Generic provider: a JSON pointer to the event in the body, such as `/event_type`. Default: none
    public var eventTypeJSONPointer: String?
    /// Generic provider: the header carrying the delivery id. Default: none (a UUID per delivery)
    public var idHeader: String?
    /// A JSON pointer to the entity key in the body, where the provider has no built-in one. Default: none
    public var keyJSONPointer: String?
    /// Overrides `gateway.ack_timeout_ms` for this source (Slack retries after 3 s). Default: none
    public var ackTimeoutMs: Int?
    /// Requests per second this source may send before getting 429. Default: none (unlimited)
    public var rateLimitPerSecond: Int?
    /// The event types published to topics of their own; any other goes to
    /// `<prefix>.<source>.unknown` (still accepted, its `ce_type` unchanged), so the topics a source
    /// can create are bounded. Default: none (every event type gets its topic)
    public var events: [String]?
    /// The status that acknowledges a published delivery: 200, 202 or 204 (no body), for a
    /// sender that takes only one of them as success. Default: the provider's (202; Paddle 200)
    public var successStatus: Int?

    public init(provider: String) {
        self.provider = provider
    }
}

/// `services.<name>:` — one consumer service.
public struct ServiceSection: Sendable, Hashable {
    /// The Kafka consumer group. Default: `hookline-<name>`
    public var group: String?
    /// Path of the service's SQLite database. Default: `./data/<name>.sqlite`
    public var database: String?
    /// `HOST:PORT` of its HTTP API, health and metrics. Default: the service's own (orders
    /// `127.0.0.1:8091`, payments `:8092`, ci `:8093`)
    public var listen: String?
    /// Regular expressions over topic names to follow; replaces the service's own defaults. Default: none
    public var topics: [String]?
    /// Attempts for a failing event before it goes to the dead-letter topic. Default: `5`
    public var maxAttempts: Int?
    /// How long processed event ids are kept for deduplication, in hours. Default: `168` (7 days)
    public var dedupRetentionHours: Int?
    /// Most events applied in one database transaction. Default: `1000`
    public var batchSize: Int?
    /// CI service: where new build jobs are POSTed. Default: none (jobs are only recorded)
    public var triggerURL: String?

    public init() {}
}

/// `monitor:` — the lag monitor.
public struct MonitorSection: Sendable, Hashable {
    /// `HOST:PORT` of its page and metrics. Default: `127.0.0.1:8099`
    public var listen: String = "127.0.0.1:8099"
    /// Seconds between two looks at the cluster. Default: `5`
    public var intervalSeconds: Int = 5
    /// Seconds of history a group's status is judged over. Default: `120`
    public var windowSeconds: Int = 120
    /// Gateways whose `/metrics` the monitor reads for traffic figures. Default: none
    public var gateways: [String] = []

    public init() {}
}

/// A configuration that cannot work, said so that its reader knows what to fix.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}

extension YamlError {
    /// Where and what, on one line: "line 2, column 12: did not find expected ',' or ']' (while
    /// parsing a flow sequence from line 2, column 12)", where Yams's own description adds the
    /// parser's name and a snippet of the file over several lines.
    var readableDescription: String {
        switch self {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) from line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return "the mapping at line \(context.mark.line), column \(context.mark.column) has the key \(keys) more than once"
        default:
            return "\(self)"
        }
    }
}
