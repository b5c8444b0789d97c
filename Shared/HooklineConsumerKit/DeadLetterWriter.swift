import HooklineKafka

/// Writes events that cannot be applied to `<prefix>.dlq.<service>`, with the original key, value
/// and headers, plus headers saying why, from where and after how many attempts.
///
/// `package` so that `hookline dlq` reads the same header names it writes.
package struct DeadLetterWriter: Sendable {
    let producer: KafkaProducer
    let topic: String

    package init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    package static let reasonHeader = "hookline-dlq-reason"
    package static let sourceTopicHeader = "hookline-dlq-source-topic"
    package static let sourcePartitionHeader = "hookline-dlq-source-partition"
    package static let sourceOffsetHeader = "hookline-dlq-source-offset"
    package static let attemptsHeader = "hookline-dlq-attempts"

    /// Returns once the broker acknowledged the dead letter.
    package func write(_ record: KafkaConsumerMessage, reason: ConsumerError, attempts: Int) async throws(KafkaError) {
        var headers = record.headers
        headers.append(KafkaHeader(key: Self.reasonHeader, value: reason.description))
        headers.append(KafkaHeader(key: Self.sourceTopicHeader, value: record.topic))
        headers.append(KafkaHeader(key: Self.sourcePartitionHeader, value: String(record.partition)))
        headers.append(KafkaHeader(key: Self.sourceOffsetHeader, value: String(record.offset)))
        headers.append(KafkaHeader(key: Self.attemptsHeader, value: String(attempts)))
        _ = try await self.producer.send(topic: self.topic, key: record.key ?? [], value: record.value, headers: headers)
    }
}
