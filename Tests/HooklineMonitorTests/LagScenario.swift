import Foundation
import HooklineKafka
import HooklineTestSupport

/// A topic of three partitions and two groups on the shared broker:
/// - `stopped` consumed the first 30 records, committed, and left; 20 more were written since,
///   so it has lag and no members, until ``catchUp()``;
/// - `neverCommitted` has a live member that reads and never commits;
/// - `sparse` has a live member that consumed and committed the one record of `sparseTopic`,
///   three partitions of which two never got a record (a group with no member and no lag is
///   dropped from the monitor's report once idle).
final class LagScenario {
    let broker: EmbeddedBroker
    let admin: KafkaAdmin
    let topic = TestKafka.uniqueName("lag")
    let stopped = TestKafka.uniqueName("stopped")
    let neverCommitted = TestKafka.uniqueName("nocommit")
    let sparseTopic = TestKafka.uniqueName("sparse")
    let sparse = TestKafka.uniqueName("sparse")
    private var consumers: [KafkaConsumer] = []

    /// When the 20 records `stopped` has not consumed were written.
    private(set) var unconsumedWritten = Date.distantPast...Date.distantPast
    var partitions: [TopicPartition] { (0..<3).map { TopicPartition(topic: self.topic, partition: $0) } }

    init(broker: EmbeddedBroker) async throws {
        self.broker = broker
        self.admin = try TestKafka.admin(broker)
        try await self.admin.createTopics([.init(name: self.topic, partitions: 3)])
        try await self.produce(30, from: 0)

        let idle = try self.consumer(self.neverCommitted)
        let first = try self.consumer(self.stopped)
        let consumed = await read(first, count: 30)
        guard consumed.count == 30 else { throw EmbeddedBrokerError(message: "read \(consumed.count) of 30 records") }
        try await first.commit(after: consumed)
        await first.close()
        self.consumers.removeAll { $0 === first }
        let before = Date()
        try await self.produce(20, from: 30)
        self.unconsumedWritten = before...Date()
        _ = idle

        try await self.admin.createTopics([.init(name: self.sparseTopic, partitions: 3)])
        let producer = try TestKafka.producer(self.broker)
        _ = try await producer.send(topic: self.sparseTopic, key: Array("one".utf8), value: Array("the only record".utf8))
        await producer.shutdown()
        let single = try self.consumer(self.sparse, topics: [self.sparseTopic])
        let one = await read(single, count: 1)
        guard one.count == 1 else { throw EmbeddedBrokerError(message: "read \(one.count) of the sparse topic's 1 record") }
        try await single.commit(after: one)
    }

    /// A member of `stopped` reads the 20 new records, commits them and stays in the group.
    func catchUp() async throws {
        let consumer = try self.consumer(self.stopped)
        let consumed = await read(consumer, count: 20)
        guard consumed.count == 20 else { throw EmbeddedBrokerError(message: "caught up \(consumed.count) of 20 records") }
        try await consumer.commit(after: consumed)
    }

    /// `stopped`'s lag per partition, computed here from the admin API alone: the high watermark
    /// (read_uncommitted; nothing here is transactional) minus the committed offset.
    func expectedLag() async throws -> [Int32: Int64] {
        let ends = try await self.admin.listOffsets(self.partitions, .latest, isolationLevel: .readUncommitted)
        let committed = try await self.admin.committedOffsets(group: self.stopped)
        var lags: [Int32: Int64] = [:]
        for partition in self.partitions {
            guard let end = ends[partition], let offset = committed[partition] else {
                throw EmbeddedBrokerError(message: "no end or commit for \(partition)")
            }
            lags[partition.partition] = end - offset
        }
        return lags
    }

    func close() async {
        for consumer in self.consumers { await consumer.close() }
        self.consumers = []
    }

    private func consumer(_ group: String, topics: [String]? = nil) throws -> KafkaConsumer {
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(self.broker, group: group), logger: TestKafka.logger)
        try consumer.subscribe(topics: topics ?? [self.topic])
        self.consumers.append(consumer)
        return consumer
    }

    private func produce(_ count: Int, from first: Int) async throws {
        let producer = try TestKafka.producer(self.broker)
        for index in first..<(first + count) {
            _ = try await producer.send(topic: self.topic, key: Array("k\(index)".utf8), value: Array("record-\(index)".utf8))
        }
        await producer.shutdown()
    }
}
