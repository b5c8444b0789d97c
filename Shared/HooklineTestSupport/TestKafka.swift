import Foundation
import HooklineKafka
import Logging

/// What integration tests share: one embedded broker per test process, and unique names.
package enum TestKafka {
    private static let sharedBroker = Task { try await EmbeddedBroker.start() }

    /// The test process's broker, started on first use and killed when the process exits.
    package static func broker() async throws -> EmbeddedBroker {
        try await self.sharedBroker.value
    }

    /// A name no other test (or earlier run against the same broker) uses.
    package static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Logs at warning and above to stderr, so test output stays readable.
    package static let logger: Logger = {
        var logger = Logger(label: "hookline.test")
        logger.logLevel = ProcessInfo.processInfo.environment["HOOKLINE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    package static func producer(_ broker: EmbeddedBroker, messageTimeout: Duration = .seconds(10)) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers),
                messageTimeout: messageTimeout
            ),
            logger: self.logger
        )
    }

    package static func consumerConfiguration(_ broker: EmbeddedBroker, group: String) -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers),
            groupID: group,
            sessionTimeout: EmbeddedBroker.consumerSessionTimeout
        )
    }

    package static func admin(_ broker: EmbeddedBroker) throws -> KafkaAdmin {
        try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), logger: self.logger)
    }
}

/// Produces records `value-0` … `value-<count-1>`, keyed so they spread over the partitions;
/// returns the numbers written to each partition, in offset order.
package func produceNumbered(_ broker: EmbeddedBroker, topic: String, count: Int) async throws -> [Int32: [Int]] {
    let producer = try TestKafka.producer(broker)
    var written: [Int32: [Int]] = [:]
    for index in 0..<count {
        let report = try await producer.send(topic: topic, key: Array("k\(index)".utf8), value: Array("value-\(index)".utf8))
        written[report.partition, default: []].append(index)
    }
    await producer.shutdown()
    return written
}
