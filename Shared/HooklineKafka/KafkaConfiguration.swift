/// Connection settings shared by producers, consumers and admin clients.
public struct KafkaConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    /// Default: `127.0.0.1:9092`
    public var bootstrapServers: String
    /// `client.id`, shown in broker logs and metrics.
    /// Default: `hookline`
    public var clientID: String
    /// Any librdkafka property (see librdkafka's CONFIGURATION.md), applied after
    /// everything Hookline sets, so it can override any of it, except what a producer's every
    /// send relies on: a producer refuses properties that change its `acks` or turn off its
    /// delivery reports (see ``KafkaProducerConfiguration/validate()``).
    /// Default: empty
    public var properties: [String: String]

    public init(
        bootstrapServers: String = "127.0.0.1:9092",
        clientID: String = "hookline",
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    var librdkafkaProperties: [String: String] {
        ["bootstrap.servers": self.bootstrapServers, "client.id": self.clientID]
    }
}

/// How a ``KafkaProducer`` writes.
public struct KafkaProducerConfiguration: Sendable {
    public var kafka: KafkaConfiguration
    /// `acks`: how many in-sync replicas must have the write before it is acknowledged.
    /// Default: `all`
    public var acks: String
    /// `enable.idempotence`: no duplicates or reordering from the producer's own retries.
    /// Default: `true`
    public var idempotent: Bool
    /// `message.timeout.ms`: how long a message may wait for the broker before
    /// ``KafkaProducer/send(topic:key:value:headers:)`` fails with `_MSG_TIMED_OUT`.
    /// A dead broker therefore gives an error, never a hang.
    /// Default: 30 seconds
    public var messageTimeout: Duration
    /// `linger.ms`: how long librdkafka waits to fill a batch.
    /// Default: 5 ms
    public var linger: Duration
    /// `compression.codec`.
    /// Default: `none`
    public var compression: String

    public init(
        kafka: KafkaConfiguration = .init(),
        acks: String = "all",
        idempotent: Bool = true,
        messageTimeout: Duration = .seconds(30),
        linger: Duration = .milliseconds(5),
        compression: String = "none"
    ) {
        self.kafka = kafka
        self.acks = acks
        self.idempotent = idempotent
        self.messageTimeout = messageTimeout
        self.linger = linger
        self.compression = compression
    }

    var librdkafkaProperties: [String: String] {
        var properties = self.kafka.librdkafkaProperties
        properties["acks"] = self.acks
        properties["enable.idempotence"] = self.idempotent ? "true" : "false"
        properties["message.timeout.ms"] = String(self.messageTimeout.milliseconds)
        properties["linger.ms"] = String(self.linger.milliseconds)
        properties["compression.codec"] = self.compression
        // Only the delivery report is needed; it must not carry a copy of the payload.
        properties["delivery.report.only.error"] = "false"
        properties.merge(self.kafka.properties) { _, user in user }
        return properties
    }
}

/// How a ``KafkaConsumer`` joins its group and reads.
public struct KafkaConsumerConfiguration: Sendable {
    public var kafka: KafkaConfiguration
    /// `group.id`. Required.
    public var groupID: String
    /// `session.timeout.ms`. The embedded broker completes a group join about half of
    /// this after the first JoinGroup, so its profile uses 6 s.
    /// Default: 45 seconds (librdkafka's)
    public var sessionTimeout: Duration
    /// Where a partition with no committed offset (and none supplied on assignment) starts.
    /// Default: `.earliest`
    public var autoOffsetReset: AutoOffsetReset
    /// `isolation.level`. Named explicitly because librdkafka consumers default to read_committed.
    /// Default: `.readCommitted`
    public var isolationLevel: KafkaIsolationLevel
    /// How many fetched messages the consumer buffers for the application before it takes only
    /// one more a second from librdkafka (which keeps prefetching into its own bounded queue).
    /// Default: 10,000
    public var bufferCapacity: Int
    /// `topic.metadata.refresh.interval.ms`: how soon a regular-expression subscription sees a
    /// topic created after it subscribed (webhook topics appear with their first event).
    /// Default: 2 seconds (librdkafka's is 5 minutes)
    public var metadataRefreshInterval: Duration
    /// How long a partition waits to be read again when a fetch returned records past the offset
    /// expected next (``OffsetGaps``): the embedded broker can hand out a record before an
    /// earlier one is written. A gap still there is read again twice more, after twice and four
    /// times this. Each real gap (transaction markers, compaction) costs those waits (1.4 s by
    /// default) and fetches again, so a consumer of a topic with many transactions should set
    /// `nil`, which believes every fetch.
    /// Default: 200 ms
    public var offsetGapRecheck: Duration?

    public enum AutoOffsetReset: String, Sendable {
        case earliest, latest, error
    }

    public init(
        kafka: KafkaConfiguration = .init(),
        groupID: String,
        sessionTimeout: Duration = .seconds(45),
        autoOffsetReset: AutoOffsetReset = .earliest,
        isolationLevel: KafkaIsolationLevel = .readCommitted,
        bufferCapacity: Int = 10_000,
        metadataRefreshInterval: Duration = .seconds(2),
        offsetGapRecheck: Duration? = .milliseconds(200)
    ) {
        self.kafka = kafka
        self.groupID = groupID
        self.sessionTimeout = sessionTimeout
        self.autoOffsetReset = autoOffsetReset
        self.isolationLevel = isolationLevel
        self.bufferCapacity = bufferCapacity
        self.metadataRefreshInterval = metadataRefreshInterval
        self.offsetGapRecheck = offsetGapRecheck
    }

    var librdkafkaProperties: [String: String] {
        var properties = self.kafka.librdkafkaProperties
        properties["group.id"] = self.groupID
        properties["session.timeout.ms"] = String(self.sessionTimeout.milliseconds)
        // Heartbeats must come well inside the session timeout.
        properties["heartbeat.interval.ms"] = String(max(self.sessionTimeout.milliseconds / 3, 100))
        properties["auto.offset.reset"] = self.autoOffsetReset.rawValue
        properties["isolation.level"] = self.isolationLevel.librdkafkaValue
        // Offsets move only when the application says so.
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "false"
        properties["topic.metadata.refresh.interval.ms"] = String(self.metadataRefreshInterval.milliseconds)
        properties.merge(self.kafka.properties) { _, user in user }
        return properties
    }
}

/// Which records a read sees: everything written, or only committed transactions.
public enum KafkaIsolationLevel: Sendable {
    case readUncommitted
    case readCommitted

    /// The `isolation.level` value: `read_uncommitted` or `read_committed`.
    public var librdkafkaValue: String {
        switch self {
        case .readUncommitted: "read_uncommitted"
        case .readCommitted: "read_committed"
        }
    }
}

extension Duration {
    /// Whole milliseconds, as librdkafka's `*.ms` properties take them.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
