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
        await consumer.close()
        #expect(values == (0..<200).map(String.init))
    }
}
