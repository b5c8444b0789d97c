import Foundation
import Logging

/// Reads fixed offset ranges of partitions once, by assignment: no group join to wait for,
/// nothing committed, nobody's offsets moved. What `hookline dlq` uses to look at a topic, and
/// the lag tools to read the first record a group has not consumed.
public struct KafkaRangeReader: Sendable {
    public let configuration: KafkaConsumerConfiguration
    /// How long to wait for the records.
    public let timeout: Duration
    let logger: Logger

    public init(kafka: KafkaConfiguration, timeout: Duration = .seconds(30), logger: Logger) {
        // A range that starts before the log does reads what is left of it: from the earliest
        // record, whatever reset the services' kafka.properties ask for ("latest" would read
        // nothing, "error" fail, and either be told apart from a deleted record only by a timeout).
        var kafka = kafka
        for name in ["auto.offset.reset", "topic.auto.offset.reset"] { kafka.properties[name] = nil }
        self.configuration = KafkaConsumerConfiguration(
            kafka: kafka,
            // librdkafka wants a group for a consumer; this one never joins or commits.
            groupID: "hookline-read-\(UUID().uuidString.prefix(8).lowercased())",
            autoOffsetReset: .earliest,
            isolationLevel: .readUncommitted
        )
        self.timeout = timeout
        self.logger = logger
    }

    /// The records of `topic` at offsets `ranges[partition]` (lower bound included, upper
    /// excluded), in partition then offset order.
    public func read(topic: String, ranges: [Int32: Range<Int64>]) async throws(KafkaError) -> [KafkaConsumerMessage] {
        try await self.read(Dictionary(uniqueKeysWithValues: ranges.map { (TopicPartition(topic: topic, partition: $0.key), $0.value) }))
    }

    /// The records at offsets `ranges[partition]` (lower bound included, upper excluded), in
    /// topic, partition and offset order. A range that starts before the log does (its records
    /// deleted) yields what is left of it.
    /// - Throws: ``KafkaError`` with ``KafkaError/Code/timedOut`` when some partition did not
    ///   reach the end of its range within ``timeout``.
    public func read(_ ranges: [TopicPartition: Range<Int64>]) async throws(KafkaError) -> [KafkaConsumerMessage] {
        let (records, unfinished) = try await self.readAvailable(ranges)
        guard unfinished.isEmpty else {
            throw KafkaError(
                code: .timedOut,
                message: "timed out after \(self.timeout) reading \(unfinished.map(\.description).sorted().joined(separator: ", "))",
                operation: "reading offset ranges",
                isRetriable: true
            )
        }
        return records
    }

    /// Like ``read(_:)``, but a partition that does not reach the end of its range within
    /// ``timeout`` is named in `unfinished` instead of failing the others: `records` holds what
    /// every partition gave.
    public func readAvailable(
        _ ranges: [TopicPartition: Range<Int64>]
    ) async throws(KafkaError) -> (records: [KafkaConsumerMessage], unfinished: Set<TopicPartition>) {
        let wanted = ranges.filter { !$0.value.isEmpty }
        guard !wanted.isEmpty else { return ([], []) }
        let consumer = try KafkaConsumer(configuration: self.configuration, logger: self.logger)
        do {
            try consumer.assign(wanted.mapValues { .offset($0.lowerBound) })
        } catch {
            await consumer.close()
            throw error
        }
        var records: [TopicPartition: [KafkaConsumerMessage]] = [:]
        var remaining = Set(wanted.keys)
        let deadline = ContinuousClock.now + self.timeout
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            for record in await consumer.nextBatch(timeout: min(deadline - ContinuousClock.now, .seconds(1))) {
                guard let range = wanted[record.topicPartition] else { continue }
                if range.contains(record.offset) { records[record.topicPartition, default: []].append(record) }
                if record.offset >= range.upperBound - 1 { remaining.remove(record.topicPartition) }
            }
        }
        await consumer.close()
        return (records.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.flatMap { records[$0]! }, remaining)
    }
}
