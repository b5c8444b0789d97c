/// `kafka:` — the cluster every process talks to.
package struct KafkaSection: Sendable, Hashable {
    /// `bootstrap.servers`. Default: `127.0.0.1:9092`
    package var brokers: String = "127.0.0.1:9092"
    /// First part of every topic name: `<prefix>.<source>.<event>`. Default: `webhooks`
    package var topicPrefix: String = "webhooks"
    /// Partitions of the topics Hookline creates. Default: `6`
    package var partitions: Int32 = 6
    /// Replication factor of the topics Hookline creates; `-1` leaves it to the cluster's
    /// `default.replication.factor`. Default: `-1`
    package var replicationFactor: Int32 = -1
    /// Topic-level configuration of the topics Hookline creates (webhook and dead-letter topics),
    /// such as `min.insync.replicas` or `retention.ms`; what it leaves out comes from the cluster's
    /// defaults. Default: empty
    package var topicConfig: [String: String] = [:]
    /// Consumer `session.timeout.ms`. Default: `45000` (use 6000 with the embedded broker)
    package var sessionTimeoutMs: Int = 45_000
    /// Any librdkafka property, passed through unchanged. Default: empty
    package var properties: [String: String] = [:]

    package init() {}

    /// The topic-level settings Apache Kafka knows (its `TopicConfig`, 3.x and 4.x). A cluster
    /// refuses to create a topic with any other, so a misspelt `topic_config` key fails the
    /// creation of every topic Hookline makes.
    package static let kafkaTopicSettings: Set<String> = [
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
    package var unfamiliarTopicConfigKeys: [String] {
        self.topicConfig.keys.filter { key in
            !Self.kafkaTopicSettings.contains(key) && !key.hasPrefix("confluent.") && !key.hasPrefix("redpanda.")
        }.sorted()
    }

    /// What is wrong with ``unfamiliarTopicConfigKeys``, for the log; nil when there are none.
    package var unfamiliarTopicConfigMessage: String? {
        let keys = self.unfamiliarTopicConfigKeys
        guard !keys.isEmpty else { return nil }
        return "kafka.topic_config: \(keys.joined(separator: ", ")) \(keys.count == 1 ? "is not a topic setting" : "are not topic settings") Apache Kafka knows (misspelt?); a cluster refuses to create a topic with one"
    }

    /// The same as a `--check` line.
    package var unfamiliarTopicConfigWarning: String? { self.unfamiliarTopicConfigMessage.map { "warning: " + $0 } }
}
