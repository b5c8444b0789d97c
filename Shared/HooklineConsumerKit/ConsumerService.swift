import GRDB
import HooklineKafka

/// What makes one consumer service: the topics it follows, a handler per event type, and the
/// tables its handlers write. The kit supplies everything else (offsets, deduplication,
/// retries, dead letters, rebalances, metrics).
package struct ConsumerService: Sendable {
    /// The service's name: `orders`, `payments`, `ci`. Names the dead-letter topic and metrics.
    package var name: String
    /// Regular expressions over topic names (librdkafka's syntax), such as `^webhooks\.shopify\..*`.
    /// A leading `^` is added when missing, so every entry is a pattern.
    package var topicPatterns: [String]
    /// Handlers by `ce_type`. Events of other types are skipped (and counted).
    package var handlers: [String: any EventHandler]
    /// Adds the service's own migrations; they run after the kit's, before consuming starts.
    package var migrations: @Sendable (inout DatabaseMigrator) -> Void

    package init(
        name: String,
        topicPatterns: [String],
        handlers: [String: any EventHandler],
        migrations: @escaping @Sendable (inout DatabaseMigrator) -> Void = { _ in }
    ) {
        self.name = name
        self.topicPatterns = topicPatterns
        self.handlers = handlers
        self.migrations = migrations
    }

    /// The patterns as subscribed: each starts with `^`.
    package var subscription: [String] {
        self.topicPatterns.map { $0.hasPrefix("^") ? $0 : "^" + $0 }
    }

    /// Checks that librdkafka takes every pattern (it refuses a subscription with a bad one only
    /// once the service has reached the broker).
    package func validateTopics() throws(KafkaError) {
        try KafkaConsumer.validate(subscription: self.subscription)
    }
}
