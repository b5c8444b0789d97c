import HooklineKafka

/// Writes events that cannot be applied to `<prefix>.dlq.<service>`, with the original key, value
/// and headers, plus headers saying why, from where and after how many attempts.
///
/// A dead letter too large for the producer or the topic (a record near `message.max.bytes`,
/// which the added headers take over it) is written without the original's payload rather than
/// not at all: refused every time, it would stop the service's partitions for good. The
/// original stays in its own topic, where ``payloadOmittedHeader`` says to find it.
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
    /// On a dead letter written without the original's payload (or, should that still be too
    /// large, without its key and headers too): what was left out, why, and where the original is
    /// (`<topic>/<partition>/<offset>`).
    package static let payloadOmittedHeader = "hookline-dlq-payload-omitted"

    /// What a written dead letter carries of the original record.
    package enum Content: Sendable, Equatable {
        /// Key, value and headers.
        case complete
        /// Key and headers; the value was too large.
        case withoutPayload
        /// Only the `hookline-dlq-*` headers (the reason cut to 1,000 characters): even without
        /// the value it was too large.
        case referenceOnly
    }

    /// Returns once the broker acknowledged the dead letter, saying what it carries.
    /// - Throws: what the last attempt failed with; a letter too large whole is written smaller
    ///   first (see ``Content``).
    @discardableResult
    package func write(_ record: KafkaConsumerMessage, reason: ConsumerError, attempts: Int) async throws(KafkaError) -> Content {
        func added(reason: String) -> [KafkaHeader] {
            [
                KafkaHeader(key: Self.reasonHeader, value: reason),
                KafkaHeader(key: Self.sourceTopicHeader, value: record.topic),
                KafkaHeader(key: Self.sourcePartitionHeader, value: String(record.partition)),
                KafkaHeader(key: Self.sourceOffsetHeader, value: String(record.offset)),
                KafkaHeader(key: Self.attemptsHeader, value: String(attempts)),
            ]
        }
        let key = record.key ?? []
        do {
            _ = try await self.producer.send(topic: self.topic, key: key, value: record.value, headers: record.headers + added(reason: reason.description))
            return .complete
        } catch where error.code == .messageSizeTooLarge {}
        let original = "\(record.topic)/\(record.partition)/\(record.offset)"
        do {
            let omitted = KafkaHeader(
                key: Self.payloadOmittedHeader,
                value: "the payload (\(record.value.count) bytes) is too large for a dead letter; the original is at \(original)"
            )
            _ = try await self.producer.send(topic: self.topic, key: key, value: [], headers: record.headers + added(reason: reason.description) + [omitted])
            return .withoutPayload
        } catch where error.code == .messageSizeTooLarge {}
        let omitted = KafkaHeader(
            key: Self.payloadOmittedHeader,
            value: "the record (\(record.value.count) bytes of payload, \(key.count) of key, \(record.headers.count) headers) is too large for a dead letter, even without its payload; the original is at \(original)"
        )
        // The reason too is cut short: a handler's message has no size limit.
        _ = try await self.producer.send(topic: self.topic, value: [], headers: added(reason: String(reason.description.prefix(1000))) + [omitted])
        return .referenceOnly
    }
}
