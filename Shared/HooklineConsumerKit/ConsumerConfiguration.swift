import HooklineKafka
import HooklineWebhooks

/// How a ``ConsumerRunner`` consumes: where the broker and the database are, and its limits.
package struct ConsumerConfiguration: Sendable {
    /// The cluster. Required.
    package var kafka: KafkaConfiguration
    /// `group.id`. Every instance of one service uses the same group. Required.
    package var groupID: String
    /// Path of the service's SQLite database. Instances of one service share this file: the
    /// offsets in it are the service's position. Required.
    package var databasePath: String
    /// `session.timeout.ms`. Default: 45 seconds (6 seconds suits the embedded broker)
    package var sessionTimeout: Duration
    /// First part of the dead-letter topic `<prefix>.dlq.<service>`. Default: `webhooks`
    package var topicPrefix: String
    /// Partitions of the dead-letter topic when the kit creates it. Default: `1`; from a
    /// configuration file, `kafka.partitions`
    package var deadLetterPartitions: Int32
    /// Replicas of the dead-letter topic when the kit creates it; `-1` is the cluster's
    /// `default.replication.factor`. Default: `-1`; from a configuration file,
    /// `kafka.replication_factor`, as the gateway's topics
    package var deadLetterReplicationFactor: Int32
    /// Topic-level configuration of the dead-letter topic when the kit creates it. Default:
    /// empty; from a configuration file, `kafka.topic_config`, as the gateway's topics
    package var deadLetterTopicConfig: [String: String] = [:]
    /// Most events applied in one transaction (one fsync). Only a backlog fills a batch: under
    /// light load each batch holds what has arrived. Default: `1000`
    package var batchSize: Int
    /// Attempts for a failing event before it is dead-lettered. Default: `5`
    package var maxAttempts: Int
    /// Wait before the first retry; doubled per attempt up to ``maxRetryBackoff``. Default: 100 ms
    package var retryBackoff: Duration
    /// Longest wait between two attempts. Default: 5 seconds
    package var maxRetryBackoff: Duration
    /// How long processed event ids are kept for deduplication. Default: 7 days
    package var dedupRetention: Duration
    /// How often ids older than ``dedupRetention`` are pruned. Default: 1 hour
    package var pruneInterval: Duration
    /// How often per-partition lag is refreshed from the broker, and the database's offsets
    /// committed to the group again. Default: 5 seconds
    package var lagRefreshInterval: Duration
    /// How long to wait for records before checking for shutdown and housekeeping. Default: 250 ms
    package var pollTimeout: Duration
    /// How often the database's WAL is checkpointed, beside the batches rather than inside
    /// their commits. Default: 200 ms
    package var checkpointInterval: Duration

    package init(
        kafka: KafkaConfiguration,
        groupID: String,
        databasePath: String,
        sessionTimeout: Duration = .seconds(45),
        topicPrefix: String = "webhooks",
        deadLetterPartitions: Int32 = 1,
        deadLetterReplicationFactor: Int32 = -1,
        batchSize: Int = 1000,
        maxAttempts: Int = 5,
        retryBackoff: Duration = .milliseconds(100),
        maxRetryBackoff: Duration = .seconds(5),
        dedupRetention: Duration = .seconds(7 * 24 * 3600),
        pruneInterval: Duration = .seconds(3600),
        lagRefreshInterval: Duration = .seconds(5),
        pollTimeout: Duration = .milliseconds(250),
        checkpointInterval: Duration = .milliseconds(200)
    ) {
        self.kafka = kafka
        self.groupID = groupID
        self.databasePath = databasePath
        self.sessionTimeout = sessionTimeout
        self.topicPrefix = topicPrefix
        self.deadLetterPartitions = deadLetterPartitions
        self.deadLetterReplicationFactor = deadLetterReplicationFactor
        self.batchSize = batchSize
        self.maxAttempts = maxAttempts
        self.retryBackoff = retryBackoff
        self.maxRetryBackoff = maxRetryBackoff
        self.dedupRetention = dedupRetention
        self.pruneInterval = pruneInterval
        self.lagRefreshInterval = lagRefreshInterval
        self.pollTimeout = pollTimeout
        self.checkpointInterval = checkpointInterval
    }

    /// `<prefix>.dlq.<service>` (``WebhookTopic/deadLetters(prefix:service:)``).
    package func deadLetterTopic(service: String) -> String {
        WebhookTopic.deadLetters(prefix: self.topicPrefix, service: service)
    }

    /// The wait before attempt `attempt + 1`, `attempt` counting from 1.
    func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = self.retryBackoff
        for _ in 1..<max(attempt, 1) where delay < self.maxRetryBackoff {
            delay *= 2
        }
        return min(delay, self.maxRetryBackoff)
    }

    /// The producer that writes dead letters. It refreshes its metadata every 2 seconds (as the
    /// consumer does; librdkafka's default is 5 minutes) unless `kafka.properties` says otherwise:
    /// a dead-letter topic the loop created again after it was deleted is known to librdkafka as
    /// missing, and refuses every record, until that refresh.
    var deadLetterProducerConfiguration: KafkaProducerConfiguration {
        var kafka = self.kafka
        kafka.properties = ["topic.metadata.refresh.interval.ms": "2000"].merging(self.kafka.properties) { _, configured in configured }
        return KafkaProducerConfiguration(kafka: kafka)
    }

    /// Checks the librdkafka properties of the service's consumer and of its dead-letter producer,
    /// without contacting a broker. Unchecked, a property either client refuses would stop the
    /// service only once it runs.
    package func validate() throws(KafkaError) {
        try self.consumerConfiguration.validate()
        try self.deadLetterProducerConfiguration.validate()
    }

    var consumerConfiguration: KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            kafka: self.kafka,
            groupID: self.groupID,
            sessionTimeout: self.sessionTimeout,
            autoOffsetReset: .earliest,
            // Read what the gateway wrote as soon as it is acknowledged; it does not use transactions,
            // so an offset a fetch skips is the broker's doing, and read again (offsetGapRecheck).
            isolationLevel: .readUncommitted,
            bufferCapacity: max(self.batchSize * 4, 2000)
        )
    }
}

extension ConsumerConfiguration {
    /// The dead-letter topic `name` as the kit creates it: its partitions and replicas.
    func deadLetterTopic(_ name: String) -> KafkaAdmin.NewTopic {
        KafkaAdmin.NewTopic(
            name: name,
            partitions: self.deadLetterPartitions,
            replicationFactor: self.deadLetterReplicationFactor,
            config: self.deadLetterTopicConfig
        )
    }
}
