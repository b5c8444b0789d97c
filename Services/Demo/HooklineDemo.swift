import Foundation
import HooklineKafka
import HooklineTestSupport
import Logging

/// `make demo`: the Kafka module on its own. Starts the embedded broker, produces a few
/// webhook-like records to a topic per event type, consumes them back through a consumer group,
/// prints what happened and the topics' lag, then stops the broker.
@main
struct HooklineDemo {
    static func main() async throws {
        var logger = Logger(label: "hookline.demo")
        logger.logLevel = .warning
        print("Starting the embedded broker…")
        let broker = try await EmbeddedBroker.start(logger: logger)
        defer { broker.stop() }
        print("Broker ready at \(broker.bootstrapServers)")

        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "hookline-demo")
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let events = [
            ("webhooks.github.push", "octo/hello-world", #"{"ref":"refs/heads/main","repository":{"full_name":"octo/hello-world"}}"#),
            ("webhooks.stripe.payment_intent.succeeded", "pi_123", #"{"id":"evt_1","type":"payment_intent.succeeded"}"#),
            ("webhooks.shop.orders.create", "shop.example.com", #"{"id":820982911946154508,"total_price":"19.99"}"#),
        ]
        try await admin.createTopics(events.map { KafkaAdmin.NewTopic(name: $0.0, partitions: 3) })

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: logger)
        for (topic, key, body) in events {
            let report = try await producer.send(
                topic: topic,
                key: Array(key.utf8),
                value: Array(body.utf8),
                headers: [KafkaHeader(key: "ce_specversion", value: "1.0"), KafkaHeader(key: "ce_id", value: UUID().uuidString)]
            )
            print("produced → \(report.topic)[\(report.partition)] @\(report.offset) (broker acknowledged, acks=all)")
        }
        await producer.shutdown()

        let group = "hookline-demo"
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: kafka, groupID: group, sessionTimeout: EmbeddedBroker.consumerSessionTimeout),
            logger: logger
        )
        try consumer.subscribe(topics: ["^webhooks\\..*"])
        print("Consumer group \(group) joining (the embedded broker takes about 3 s)…")
        var received = 0
        while received < events.count {
            let batch = await consumer.nextBatch(timeout: .seconds(30))
            guard !batch.isEmpty else { break }
            for message in batch {
                print("consumed ← \(message.topic)[\(message.partition)] @\(message.offset): \(String(decoding: message.value, as: UTF8.self))")
            }
            try await consumer.commit(after: Array(batch.prefix(2)))
            received += batch.count
        }

        let committed = try await admin.committedOffsets(group: group)
        let topics = try await admin.listTopics().filter { $0.name.hasPrefix("webhooks.") }
        let watermarks = try await admin.watermarks(topics: topics, isolationLevel: .readUncommitted)
        print("\nLag of group \(group) (only the first two records were committed):")
        for (partition, marks) in watermarks.sorted(by: { "\($0.key)" < "\($1.key)" }) where marks.end > 0 {
            let lag = committed[partition].map { String(max(0, marks.end - $0)) } ?? "no commit (\(marks.end - marks.earliest) unread)"
            print("  \(partition): end \(marks.end), committed \(committed[partition].map(String.init) ?? "-"), lag \(lag)")
        }
        await consumer.close()
        print("\nDone. `make run` starts the whole system (gateways, consumer services, monitor); see README.md.")
    }
}
