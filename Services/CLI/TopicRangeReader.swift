import Foundation
import HooklineConfig
import HooklineKafka

/// Reads fixed offset ranges of partitions once, by assignment (no group join, nothing
/// committed): what `hookline dlq` uses to look at a topic, and `hookline lag` to read the first
/// record a group has not consumed, without moving anyone's offsets.
struct TopicRangeReader {
    let configuration: KafkaConsumerConfiguration
    /// How long to wait for the records.
    let timeout: Duration

    init(kafka: KafkaConfiguration, timeout: Duration = .seconds(30)) {
        self.configuration = KafkaConsumerConfiguration(
            kafka: kafka,
            // librdkafka wants a group for a consumer; this one never joins or commits.
            groupID: "hookline-cli-read-\(UUID().uuidString.prefix(8).lowercased())",
            isolationLevel: .readUncommitted
        )
        self.timeout = timeout
    }

    /// The records of `topic` at offsets `ranges[partition]` (lower bound included, upper
    /// excluded), in partition then offset order.
    func read(topic: String, ranges: [Int32: Range<Int64>]) async throws -> [KafkaConsumerMessage] {
        try await self.read(Dictionary(uniqueKeysWithValues: ranges.map { (TopicPartition(topic: topic, partition: $0.key), $0.value) }))
    }

    /// The records at offsets `ranges[partition]` (lower bound included, upper excluded), in
    /// topic, partition and offset order. A range that starts before the log does (its records
    /// deleted) yields what is left of it.
    func read(_ ranges: [TopicPartition: Range<Int64>]) async throws -> [KafkaConsumerMessage] {
        let wanted = ranges.filter { !$0.value.isEmpty }
        guard !wanted.isEmpty else { return [] }
        let consumer = try KafkaConsumer(configuration: self.configuration, logger: .cli)
        try consumer.assign(wanted.mapValues { .offset($0.lowerBound) })
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
        guard remaining.isEmpty else {
            throw CLIError.failed("timed out reading \(remaining.map(\.description).sorted().joined(separator: ", "))")
        }
        return records.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.flatMap { records[$0]! }
    }
}
