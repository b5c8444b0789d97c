import HooklineKafka
import Logging
import Testing

@Suite("Producer configuration")
struct KafkaProducerConfigurationTests {
    private func configuration(_ properties: [String: String]) -> KafkaProducerConfiguration {
        KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:9", properties: properties))
    }

    // librdkafka passes a name it does not know globally to the default topic configuration,
    // which drops a `topic.` prefix: these reach `acks` under names a look at the keys misses.
    @Test(
        "properties that leave a send unacknowledged by every in-sync replica, or without its delivery report, are refused",
        arguments: [
            (["enable.idempotence": "false", "topic.acks": "0"], "acks: the properties make it 0"),
            (["enable.idempotence": "false", "topic.request.required.acks": "1"], "acks: the properties make it 1"),
            (["enable.idempotence": "false", "request.required.acks": "0"], "acks: the properties make it 0"),
            (["delivery.report.only.error": "true"], "delivery.report.only.error: every send is answered by its delivery report"),
        ]
    )
    func refused(properties: [String: String], message: String) throws {
        let configuration = self.configuration(properties)
        #expect {
            try configuration.validate()
        } throws: { error in
            "\(error)".contains(message)
        }
        #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: Logger(label: "test")) }
    }

    @Test("acks written any way librdkafka takes it as all passes; whether the producer is idempotent is read from the properties")
    func accepted() throws {
        for properties in [[:], ["topic.acks": "all"], ["topic.request.required.acks": "-1", "acks": "all"], ["enable.idempotence": "false"]] {
            try self.configuration(properties).validate()
        }
        let logger = Logger(label: "test")
        #expect(try KafkaProducer(configuration: self.configuration([:]), logger: logger).isIdempotent)
        #expect(try !KafkaProducer(configuration: self.configuration(["enable.idempotence": "false"]), logger: logger).isIdempotent)
    }
}
