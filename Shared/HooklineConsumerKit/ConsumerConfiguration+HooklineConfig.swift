import HooklineConfig
import HooklineKafka

extension ConsumerConfiguration {
    /// The configuration of service `name` from the shared file's `kafka:` and `services.<name>:`
    /// sections, each unset key taking its documented default.
    package init(service name: String, kafka: KafkaSection, section: ServiceSection) {
        self.init(
            kafka: KafkaConfiguration(bootstrapServers: kafka.brokers, clientID: "hookline-\(name)", properties: kafka.properties),
            groupID: section.groupID(service: name),
            databasePath: section.database ?? "./data/\(name).sqlite",
            sessionTimeout: .milliseconds(kafka.sessionTimeoutMs),
            topicPrefix: kafka.topicPrefix,
            deadLetterPartitions: kafka.partitions,
            deadLetterReplicationFactor: kafka.replicationFactor
        )
        self.deadLetterTopicConfig = kafka.topicConfig
        if let batchSize = section.batchSize { self.batchSize = max(batchSize, 1) }
        if let maxAttempts = section.maxAttempts { self.maxAttempts = max(maxAttempts, 1) }
        if let hours = section.dedupRetentionHours { self.dedupRetention = .seconds(max(hours, 1) * 3600) }
    }
}
