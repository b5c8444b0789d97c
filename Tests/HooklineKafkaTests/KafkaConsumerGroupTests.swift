import Foundation
import HooklineKafka
import HooklineTestSupport
import Logging
import Synchronization
import Testing

/// Records what the group did to one consumer and hands out starting offsets.
final class RecordingListener: KafkaRebalanceListener {
    let starts: [TopicPartition: KafkaStartOffset]
    private let state = Mutex<(assigned: Set<TopicPartition>, revocations: Int)>(([], 0))
    /// Runs before a revocation returns: the application's chance to finish its batch.
    let onRevoke: @Sendable ([TopicPartition]) async -> Void

    init(starts: [TopicPartition: KafkaStartOffset] = [:], onRevoke: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in }) {
        self.starts = starts
        self.onRevoke = onRevoke
    }

    var assigned: Set<TopicPartition> { self.state.withLock { $0.assigned } }
    var revocations: Int { self.state.withLock { $0.revocations } }

    func partitionsAssigned(_ partitions: [TopicPartition]) async -> [TopicPartition: KafkaStartOffset] {
        self.state.withLock { $0.assigned.formUnion(partitions) }
        return self.starts.filter { partitions.contains($0.key) }
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) async {
        await self.onRevoke(partitions)
        self.state.withLock {
            $0.assigned.subtract(partitions)
            $0.revocations += 1
        }
    }
}

/// How many times each record number was processed.
final class Tally: Sendable {
    private let counts = Mutex<[Int: Int]>([:])

    func add(_ numbers: [Int]) {
        self.counts.withLock { counts in numbers.forEach { counts[$0, default: 0] += 1 } }
    }

    var distinct: Int { self.counts.withLock { $0.count } }
    var maximumRepeats: Int { self.counts.withLock { $0.values.max() ?? 0 } }
}

func number(_ message: KafkaConsumerMessage) -> Int {
    Int(String(decoding: message.value.dropFirst("value-".count), as: UTF8.self))!
}

/// Reads until `count` records arrived or `timeout` passed; returns what arrived.
func read(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [KafkaConsumerMessage] {
    var messages: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count, ContinuousClock.now < deadline {
        messages += await consumer.nextBatch(maxCount: count - messages.count, timeout: deadline - ContinuousClock.now)
    }
    return messages
}

@Suite("Consumer groups and offsets", .timeLimit(.minutes(3)))
struct KafkaConsumerGroupTests {
    @Test("a consumer restarted after committing resumes exactly after its commits")
    func resumesAfterCommit() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("resume")
        let group = TestKafka.uniqueName("resume")
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 2)])
        _ = try await produceNumbered(broker, topic: topic, count: 100)

        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), logger: TestKafka.logger)
        try first.subscribe(topics: [topic])
        // Take some records, commit only through the first 30 seen, then leave.
        let early = await read(first, count: 40)
        let committedPart = Array(early.prefix(30))
        try await first.commit(after: committedPart)
        await first.close()

        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), logger: TestKafka.logger)
        try second.subscribe(topics: [topic])
        let rest = await read(second, count: 70)
        await second.close()

        // Everything not covered by the commit arrives once; nothing covered arrives again.
        let committedNumbers = Set(committedPart.map(number))
        let restNumbers = rest.map(number)
        #expect(Set(restNumbers).isDisjoint(with: committedNumbers))
        #expect(Set(restNumbers).union(committedNumbers) == Set(0..<100))
        #expect(restNumbers.count == 70)
    }

    @Test("a consumer that supplies its own offsets on assignment starts exactly there")
    func startsAtSuppliedOffsets() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("supplied")
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 2)])
        let written = try await produceNumbered(broker, topic: topic, count: 60)
        let p0 = TopicPartition(topic: topic, partition: 0)
        let p1 = TopicPartition(topic: topic, partition: 1)
        // Partition 0 from offset 7, partition 1 from the end (nothing old).
        let listener = RecordingListener(starts: [p0: .offset(7), p1: .end])
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("supplied")),
            rebalanceListener: listener,
            logger: TestKafka.logger
        )
        try consumer.subscribe(topics: [topic])
        let expected = written[0]!.count - 7
        let messages = await read(consumer, count: expected)
        #expect(messages.map(\.partition).allSatisfy { $0 == 0 })
        #expect(messages.first?.offset == 7)
        #expect(messages.map(number) == Array(written[0]!.dropFirst(7)))
        #expect(listener.assigned == [p0, p1])

        // Something new on partition 1 arrives: the consumer is at its end, not before it.
        let producer = try TestKafka.producer(broker)
        var lateReport: KafkaDeliveryReport
        var attempt = 0
        repeat {
            lateReport = try await producer.send(topic: topic, key: Array("late-\(attempt)".utf8), value: Array("value-\(1000 + attempt)".utf8))
            attempt += 1
        } while lateReport.partition != 1
        await producer.shutdown()
        let late = await read(consumer, count: attempt)
        await consumer.close()
        #expect(late.filter { $0.partition == 1 }.map(\.offset) == [lateReport.offset])
    }

    @Test("assign reads from the given offsets without joining the group: the rebalance listener is never called and nothing is committed")
    func assignsWithoutJoining() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("assigned")
        let admin = try TestKafka.admin(broker)
        try await admin.createTopics([.init(name: topic, partitions: 2)])
        let written = try await produceNumbered(broker, topic: topic, count: 40)
        let group = TestKafka.uniqueName("assigned")
        let listener = RecordingListener()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), rebalanceListener: listener, logger: TestKafka.logger)
        try consumer.assign([TopicPartition(topic: topic, partition: 1): .offset(3)])
        let expected = written[1]!.count - 3
        let messages = await read(consumer, count: expected, timeout: .seconds(10))
        #expect(messages.map(\.partition).allSatisfy { $0 == 1 })
        #expect(messages.first?.offset == 3)
        #expect(messages.map(number) == Array(written[1]!.dropFirst(3)))
        #expect(consumer.assignment == [TopicPartition(topic: topic, partition: 1)])
        #expect(listener.assigned.isEmpty && listener.revocations == 0)
        #expect(try await admin.committedOffsets(group: group).isEmpty)
        await consumer.close()
    }

    @Test("a pattern that matches no topic yet is logged at info as such, not as a consumer error, and its topic is read once created")
    func patternWithoutTopicYet() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("later")
        let pattern = "^\(prefix)\\..*"
        let logs = LogRecords()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: prefix), logger: logs.logger())
        try consumer.subscribe(topics: [pattern])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, !logs.all.contains(where: { $0.message == "no topic for this subscription yet" }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let notice = logs.all.first { $0.message == "no topic for this subscription yet" }
        #expect(notice?.level == .info)
        #expect(notice?.metadata["kafka.topic"] == pattern)

        let topic = "\(prefix).created"
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 1)])
        let written = try await produceNumbered(broker, topic: topic, count: 3)
        #expect(await read(consumer, count: 3).map(number) == written[0])
        #expect(logs.all.filter { $0.level >= .warning }.map(\.message) == [])
        await consumer.close()
    }

    @Test("two consumers split the partitions; when one leaves the other takes over without loss or redelivery")
    func twoConsumersShareAndTakeOver() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("share")
        let group = TestKafka.uniqueName("share")
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 4)])
        let listenerA = RecordingListener()
        let listenerB = RecordingListener()
        let a = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), rebalanceListener: listenerA, logger: TestKafka.logger)
        let b = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), rebalanceListener: listenerB, logger: TestKafka.logger)
        try a.subscribe(topics: [topic])
        try b.subscribe(topics: [topic])

        let settle = ContinuousClock.now + .seconds(30)
        while !(listenerA.assigned.count == 2 && listenerB.assigned.count == 2), ContinuousClock.now < settle {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(listenerA.assigned.count == 2)
        #expect(listenerB.assigned.count == 2)
        #expect(listenerA.assigned.isDisjoint(with: listenerB.assigned))

        // Both process and commit batch by batch until all 200 records are done.
        let processed = Tally()
        @Sendable func work(_ consumer: KafkaConsumer, until target: Int) async throws {
            while processed.distinct < target {
                let batch = await consumer.nextBatch(maxCount: 25, timeout: .milliseconds(200))
                guard !batch.isEmpty else { continue }
                processed.add(batch.map(number))
                try await consumer.commit(after: batch)
            }
        }
        _ = try await produceNumbered(broker, topic: topic, count: 200)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await work(a, until: 200) }
            tasks.addTask { try await work(b, until: 200) }
            try await tasks.waitForAll()
        }
        let byA = listenerA.assigned
        #expect(processed.distinct == 200)

        // B leaves; A takes over all four partitions and sees only the new records.
        await b.close()
        let takeover = ContinuousClock.now + .seconds(30)
        while listenerA.assigned.count < 4, ContinuousClock.now < takeover {
            _ = await a.nextBatch(timeout: .milliseconds(100)).map { message in
                Issue.record("record \(number(message)) was delivered again after its commit")
            }
        }
        #expect(listenerA.assigned.count == 4)
        #expect(listenerA.assigned.isStrictSuperset(of: byA))

        _ = try await produceNumbered(broker, topic: topic, count: 400)  // numbers 0..<400 again
        let second = await read(a, count: 400, timeout: .seconds(30))
        await a.close()
        #expect(second.count == 400)
        #expect(Set(second.map(\.partition)) == [0, 1, 2, 3])
        #expect(processed.maximumRepeats == 1)
    }
}
