import Foundation
import HTTPTypes
import HooklineConfig
import HooklineKafka
import HooklineWebhooks
import Logging

/// Publishes verified webhooks: one producer per distinct acknowledgement timeout (librdkafka's
/// `message.timeout.ms` is per producer), so a send that is not acknowledged in time fails by
/// itself, with no timer per request.
final class WebhookPublisher: Sendable {
    private let producers: [Int: KafkaProducer]
    let topics: TopicCatalog
    let topicPrefix: String
    let replicaID: String

    init(configuration: HooklineConfiguration, ackTimeouts: Set<Int>, replicaID: String, admin: KafkaAdmin, logger: Logger) throws(KafkaError) {
        var producers: [Int: KafkaProducer] = [:]
        for timeout in ackTimeouts.union([configuration.gateway.ackTimeoutMs]) {
            var properties = ["linger.ms": "1"]  // acknowledgements wait on batches: keep them short
            properties.merge(configuration.kafka.properties) { _, user in user }
            producers[timeout] = try KafkaProducer(
                configuration: KafkaProducerConfiguration(
                    kafka: KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "hookline-gateway", properties: properties),
                    messageTimeout: .milliseconds(timeout)
                ),
                logger: logger
            )
        }
        self.producers = producers
        self.topicPrefix = configuration.kafka.topicPrefix
        self.replicaID = replicaID
        self.topics = TopicCatalog(
            admin: admin,
            partitions: configuration.kafka.partitions,
            replicationFactor: configuration.kafka.replicationFactor,
            logger: logger
        )
    }

    /// Writes the delivery to its topic and returns once the broker acknowledged it.
    func publish(
        _ webhook: VerifiedWebhook,
        topic: String,
        body: [UInt8],
        source: GatewaySource,
        request: WebhookRequest,
        receivedAt: ReceivedAt
    ) async throws(KafkaError) -> KafkaDeliveryReport {
        try await self.topics.ensure(topic)
        var headers: [KafkaHeader] = [
            KafkaHeader(key: "ce_specversion", value: "1.0"),
            KafkaHeader(key: "ce_id", value: webhook.id),
            KafkaHeader(key: "ce_source", value: source.ceSource),
            KafkaHeader(key: "ce_type", value: webhook.ceType),
            KafkaHeader(key: "ce_time", value: receivedAt.rfc3339),
            KafkaHeader(key: "content-type", value: request.headerFields[.contentType] ?? "application/octet-stream"),
            KafkaHeader(key: "hookline-received-at", value: receivedAt.milliseconds),
            KafkaHeader(key: "hookline-gateway", value: self.replicaID),
        ]
        if let traceparent = request.headerFields[.traceparent] {
            headers.append(KafkaHeader(key: "traceparent", value: traceparent))
        }
        for extra in webhook.headers {
            headers.append(KafkaHeader(key: extra.name, value: extra.value))
        }
        let producer = self.producers[source.ackTimeoutMs]!
        return try await producer.send(topic: topic, key: Array((webhook.key ?? webhook.id).utf8), value: body, headers: headers)
    }

    /// Flushes every producer (up to `timeout`) and releases them.
    func shutdown(timeout: Duration) async {
        for producer in self.producers.values {
            await producer.shutdown(timeout: timeout)
        }
    }
}

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
}
