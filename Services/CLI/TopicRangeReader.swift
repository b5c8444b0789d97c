import Foundation
import HooklineConfig
import HooklineKafka

/// Reads fixed offset ranges of a topic's partitions once, with a throwaway consumer group that
/// never commits: what `hookline dlq` uses to look at a topic without moving anyone's offsets.
struct TopicRangeReader {
    let configuration: KafkaConsumerConfiguration
    /// How long to wait for the group join and the records. Default: the session timeout + 30 s.
    let timeout: Duration

    init(kafka: KafkaConfiguration, sessionTimeoutMs: Int) {
        self.configuration = KafkaConsumerConfiguration(
            kafka: kafka,
            groupID: "hookline-cli-read-\(UUID().uuidString.prefix(8).lowercased())",
            sessionTimeout: .milliseconds(sessionTimeoutMs),
            isolationLevel: .readUncommitted
        )
        self.timeout = .milliseconds(sessionTimeoutMs) + .seconds(30)
    }

    /// The records of `topic` at offsets `ranges[partition]` (lower bound included, upper
    /// excluded), in partition then offset order.
    func read(topic: String, ranges: [Int32: Range<Int64>]) async throws -> [KafkaConsumerMessage] {
        let wanted = ranges.filter { !$0.value.isEmpty }
        guard !wanted.isEmpty else { return [] }
        let starts = Dictionary(uniqueKeysWithValues: wanted.map { (TopicPartition(topic: topic, partition: $0.key), KafkaStartOffset.offset($0.value.lowerBound)) })
        let consumer = try KafkaConsumer(configuration: self.configuration, rebalanceListener: StartAt(starts: starts), logger: .cli)
        try consumer.subscribe(topics: [topic])
        var records: [Int32: [KafkaConsumerMessage]] = [:]
        var remaining = Set(wanted.keys)
        let deadline = ContinuousClock.now + self.timeout
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            for record in await consumer.nextBatch(timeout: min(deadline - ContinuousClock.now, .seconds(1))) {
                guard let range = wanted[record.partition] else { continue }
                if range.contains(record.offset) { records[record.partition, default: []].append(record) }
                if record.offset >= range.upperBound - 1 { remaining.remove(record.partition) }
            }
        }
        await consumer.close()
        guard remaining.isEmpty else {
            throw CLIError.failed("timed out reading \(topic) partitions \(remaining.sorted().map(String.init).joined(separator: ", "))")
        }
        return records.keys.sorted().flatMap { records[$0]! }
    }

    /// Starts each assigned partition at the offset asked for; others at their end.
    private struct StartAt: KafkaRebalanceListener {
        let starts: [TopicPartition: KafkaStartOffset]

        func partitionsAssigned(_ partitions: [TopicPartition]) async -> [TopicPartition: KafkaStartOffset] {
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, self.starts[$0] ?? .end) })
        }

        func partitionsRevoked(_ partitions: [TopicPartition]) async {}
    }
}
