import Foundation
import HooklineKafka
import HooklineTestSupport
import Synchronization
import Testing

@Suite("Kafka against the embedded broker", .timeLimit(.minutes(3)))
struct KafkaRoundTripTests {
    @Test("10,000 keyed messages with headers arrive intact and in order per partition")
    func producedMessagesArriveIntact() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("roundtrip")
        let admin = try TestKafka.admin(broker)
        try await admin.createTopics([.init(name: topic, partitions: 4)])
        let producer = try TestKafka.producer(broker)

        let count = 10_000
        // Payloads carry every byte value, so any mangling shows.
        func payload(_ index: Int) -> [UInt8] { (0..<(index % 300 + 1)).map { UInt8(truncatingIfNeeded: $0 &+ index) } }
        func key(_ index: Int) -> String { "entity-\(index % 37)" }

        let reports = try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
            for index in 0..<count {
                group.addTask {
                    let report = try await producer.send(
                        topic: topic,
                        key: Array(key(index).utf8),
                        value: payload(index),
                        headers: [KafkaHeader(key: "seq", value: String(index)), KafkaHeader(key: "empty", value: nil)]
                    )
                    return (index, report)
                }
            }
            return try await group.reduce(into: [Int: KafkaDeliveryReport]()) { $0[$1.0] = $1.1 }
        }
        #expect(reports.count == count)
        #expect(Set(reports.values.map { TopicPartition(topic: $0.topic, partition: $0.partition) }).count == 4)
        await producer.shutdown()

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("roundtrip")),
            logger: TestKafka.logger
        )
        try consumer.subscribe(topics: [topic])
        var seen: [Int: KafkaConsumerMessage] = [:]
        var lastSequenceByKey: [String: Int] = [:]
        while seen.count < count {
            for message in await consumer.nextBatch() {
                let sequence = try #require(message.headers.first("seq")?.stringValue.flatMap(Int.init))
                #expect(seen[sequence] == nil, "message \(sequence) delivered twice")
                seen[sequence] = message
                // One key's records are produced in parallel, so compare with what the broker
                // assigned: offsets must rise in the order the consumer sees them.
                let messageKey = String(decoding: message.key ?? [], as: UTF8.self)
                if let previous = lastSequenceByKey[messageKey] {
                    #expect(reports[previous]!.offset < message.offset)
                }
                lastSequenceByKey[messageKey] = sequence
            }
        }
        await consumer.close()

        for (index, message) in seen {
            let report = try #require(reports[index])
            #expect(message.value == payload(index))
            #expect(message.key == Array(key(index).utf8))
            #expect(message.partition == report.partition)
            #expect(message.offset == report.offset)
            #expect(message.headers.first("empty") == KafkaHeader(key: "empty", value: nil))
            #expect(message.timestamp != nil)
        }
        // Every key stays on one partition.
        let partitionsPerKey = Dictionary(grouping: seen.values, by: { $0.key ?? [] }).mapValues { Set($0.map(\.partition)).count }
        #expect(partitionsPerKey.values.allSatisfy { $0 == 1 })
    }

    @Test("sequential sends to one partition keep their order")
    func orderWithinPartition() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("order")
        let admin = try TestKafka.admin(broker)
        try await admin.createTopics([.init(name: topic, partitions: 3)])
        let producer = try TestKafka.producer(broker)
        var offsets: [Int64] = []
        for index in 0..<200 {
            offsets.append(try await producer.send(topic: topic, key: Array("same-key".utf8), value: Array(String(index).utf8)).offset)
        }
        await producer.shutdown()
        #expect(offsets == Array(offsets.first!..<(offsets.first! + 200)))

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("order")),
            logger: TestKafka.logger
        )
        try consumer.subscribe(topics: [topic])
        var values: [String] = []
        while values.count < 200 {
            values += await consumer.nextBatch().map { String(decoding: $0.value, as: UTF8.self) }
        }
        let position = try #require(consumer.assignment.first { $0.topic == topic })
        await consumer.close()
        await consumer.close()  // idempotent: the second call does not reach the destroyed handle
        #expect(values == (0..<200).map(String.init))

        // Every other call refuses instead of reaching the destroyed handle.
        #expect(consumer.assignment.isEmpty)
        #expect(await consumer.nextBatch(maxCount: 10, timeout: .milliseconds(50)).isEmpty)
        consumer.commitWithoutWaiting([position: 1])
        let refusals: [KafkaError?] = [
            await #expect(throws: KafkaError.self) { try await consumer.commit([position: 1]) },
            await #expect(throws: KafkaError.self) { _ = try await consumer.committed([position]) },
            #expect(throws: KafkaError.self) { try consumer.subscribe(topics: [topic]) },
            #expect(throws: KafkaError.self) { try consumer.assign([position: .beginning]) },
        ]
        #expect(refusals.map { $0?.code } == Array(repeating: .closed, count: 4))
    }
}

@Suite("Producer shutdown", .timeLimit(.minutes(1)))
struct KafkaProducerShutdownTests {
    @Test("a shutdown while other threads produce: every record the producer took gets its one report, and what comes after is refused as closed")
    func shutdownWhileProducing() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("closing")
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 1)])
        // Records wait for their batch, so the shutdown finds some queued and purges them.
        var configuration = KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), messageTimeout: .seconds(10))
        configuration.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)

        let taken = Counter()
        let reported = Counter()
        let producing = 4
        // Threads of their own: tight loops on the cooperative pool would hold up the shutdown.
        let stopped = AsyncStream<Void>.makeStream()
        let refused = Counter()
        for _ in 0..<producing {
            Thread {
                while true {
                    let error = producer.enqueue(topic: topic, value: Array("record".utf8), timeout: .seconds(10)) { _ in
                        reported.increment()
                    }
                    if let error {
                        if error.code == .closed {
                            refused.increment()
                            break
                        }
                        Thread.sleep(forTimeInterval: 0.001)  // a full queue
                    } else {
                        taken.increment()
                    }
                }
                stopped.continuation.yield()
            }.start()
        }
        try await Task.sleep(for: .milliseconds(100))
        await producer.shutdown(timeout: .milliseconds(50))
        var ended = 0
        for await _ in stopped.stream {
            ended += 1
            if ended == producing { break }
        }
        #expect(refused.value == producing)
        // Every report has come by the time shutdown returns: the handle that would send one is gone.
        #expect(taken.value > 0)
        #expect(reported.value == taken.value)
        #expect(producer.outstandingCount == 0)
    }
}
