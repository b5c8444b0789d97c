import Foundation
import HTTPTypes
import HooklineConfig
import HooklineKafka
import HooklineWebhooks
import Logging
import Synchronization

/// Publishes verified webhooks through one producer; each send carries its source's ack timeout.
final class WebhookPublisher: Sendable {
    private let producer: ReplaceableProducer
    let topics: TopicCatalog
    let topicPrefix: String
    let replicaID: String
    /// The longest ack timeout a source may have: librdkafka gives up on a record after it.
    let longestAckTimeoutMs: Int
    /// The producer's `message.max.bytes`: a larger record it refuses itself, before any broker
    /// sees it. At least `max_body_bytes` + 64 KiB (refused at start when set lower).
    let producerRecordLimit: Int

    /// Why a webhook was not written.
    enum Failure: Error {
        /// Its record, key and headers included, is over ``producerRecordLimit``: a signed
        /// delivery whose key or headers are far beyond any provider's (the body alone is within
        /// `max_body_bytes`). No cluster setting would take it, and it is not sent.
        case overRecordLimit(bytes: Int)
        /// The producer or the broker did not write it.
        case kafka(KafkaError)
    }

    init(configuration: HooklineConfiguration, ackTimeouts: Set<Int>, replicaID: String, admin: KafkaAdmin, logger: Logger) throws(KafkaError) {
        let producerConfiguration = Self.producerConfiguration(configuration, ackTimeouts: ackTimeouts)
        self.producer = try ReplaceableProducer(configuration: producerConfiguration, logger: logger)
        self.longestAckTimeoutMs = Self.longestAckTimeoutMs(configuration, ackTimeouts: ackTimeouts)
        self.producerRecordLimit = Self.recordLimit(of: producerConfiguration) ?? configuration.gateway.largestRecordBytes
        self.topicPrefix = configuration.kafka.topicPrefix
        self.replicaID = replicaID
        self.topics = TopicCatalog(
            admin: admin,
            partitions: configuration.kafka.partitions,
            replicationFactor: configuration.kafka.replicationFactor,
            config: Self.topicConfig(configuration),
            logger: logger
        )
    }

    /// The producer's configuration: the gateway's batching defaults, then `kafka.properties`.
    static func producerConfiguration(_ configuration: HooklineConfiguration, ackTimeouts: Set<Int>) -> KafkaProducerConfiguration {
        // Every request waits for its record's acknowledgement, so a record should wait for a
        // batch only while waiting pays:
        // - linger.ms 1, not librdkafka's 5: under light load a request waits at most 1 ms;
        // - batch.num.messages 16, not 10,000: under heavy load a batch leaves as soon as it
        //   holds 16 records (about 30 KB of typical webhooks, enough to spread the broker's cost
        //   of a produce request) instead of holding every record for the full linger. Measured:
        //   15-30% more requests/s at 32 connections, p99 no higher (docs/benchmarks.md);
        // - batch.size 64 KiB, not 1,000,000: Kafka holds a whole batch to a topic's
        //   max.message.bytes and refuses every record of one over it, MSG_SIZE_TOO_LARGE each
        //   (a 503 `record_too_large`). Under 64 KiB, only a record that is too large alone is
        //   refused (librdkafka lets one record of any size be a batch), so the refusal is the
        //   record's own, on a topic whose limit was set low too. Typical webhooks fill 16 a
        //   batch far below it.
        // And topics come from the admin API with the configured partitions, never from a broker
        // that creates them on a producer's metadata request (librdkafka's producer asks it to by
        // default) with its own defaults. `kafka.properties` overrides each.
        //
        // A record can be as large as the largest body plus its headers and key, which the
        // producer's default `message.max.bytes` (1,000,000) refuses for bodies near the default
        // `max_body_bytes` (1 MiB): those were answered 503 and sent again, forever.
        var properties = [
            "linger.ms": "1", "batch.num.messages": "16", "batch.size": "65536", "allow.auto.create.topics": "false",
            "message.max.bytes": String(max(1_000_000, configuration.gateway.largestRecordBytes)),
        ]
        properties.merge(configuration.kafka.properties) { _, user in user }
        return KafkaProducerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "hookline-gateway", properties: properties),
            // librdkafka gives up after the longest ack timeout; each send holds its own.
            messageTimeout: .milliseconds(Self.longestAckTimeoutMs(configuration, ackTimeouts: ackTimeouts))
        )
    }

    /// The `message.max.bytes` the producer is configured with.
    static func recordLimit(of configuration: KafkaProducerConfiguration) -> Int? {
        configuration.kafka.properties["message.max.bytes"].flatMap { Int($0) }
    }

    /// The configuration of the topics the gateway creates: `kafka.topic_config`, and unless it
    /// says otherwise `max.message.bytes` large enough for its largest record when that is over a
    /// broker's default (1,048,588 bytes), which a topic otherwise takes from its broker.
    static func topicConfig(_ configuration: HooklineConfiguration) -> [String: String] {
        let largest = configuration.gateway.largestRecordBytes
        let fitting = largest > 1_048_588 ? ["max.message.bytes": String(largest)] : [:]
        return fitting.merging(configuration.kafka.topicConfig) { _, configured in configured }
    }

    private static func longestAckTimeoutMs(_ configuration: HooklineConfiguration, ackTimeouts: Set<Int>) -> Int {
        ackTimeouts.union([configuration.gateway.ackTimeoutMs]).max()!
    }

    /// Writes the delivery to its topic and calls `completion` once the broker acknowledged it,
    /// or once the source's ack timeout, counted from `arrival`, has passed (creating the topic
    /// included). `completion` runs on the producer's delivery-report thread, or at once when
    /// the record could not even be queued.
    func publish(
        _ webhook: VerifiedWebhook,
        topic: String,
        source: GatewaySource,
        request: WebhookRequest,
        receivedAt: ReceivedAt,
        arrival: ContinuousClock.Instant,
        completion: @escaping @Sendable (Result<KafkaDeliveryReport, Failure>) -> Void
    ) {
        let timeout = Duration.milliseconds(source.ackTimeoutMs)
        // A body that took the whole timeout to arrive is not published: the provider gave up.
        guard arrival + timeout > .now else {
            return completion(
                .failure(.kafka(KafkaError(code: .timedOut, message: "the request used up its ack timeout before publishing", operation: "producing to \(topic)", isRetriable: true)))
            )
        }
        var headers: [KafkaHeader] = [
            KafkaHeader(key: "ce_specversion", value: "1.0"),
            KafkaHeader(key: "ce_id", value: webhook.id),
            KafkaHeader(key: "ce_source", value: source.ceSource),
            KafkaHeader(key: "ce_type", value: webhook.ceType),
            KafkaHeader(key: "ce_time", value: receivedAt.rfc3339),
            KafkaHeader(key: "content-type", value: Self.contentType(request.headerFields.first(.contentType))),
            KafkaHeader(key: "hookline-received-at", value: receivedAt.milliseconds),
            KafkaHeader(key: "hookline-gateway", value: self.replicaID),
        ]
        if let traceparent = request.headerFields.first(.traceparent), Self.isTraceparent(traceparent) {
            headers.append(KafkaHeader(key: "traceparent", value: traceparent))
        }
        for extra in webhook.headers {
            headers.append(KafkaHeader(key: extra.name, value: extra.value))
        }
        let key = Array((webhook.key ?? webhook.id).utf8)
        // What the producer counts against message.max.bytes: a header's two lengths take up to 5 bytes each.
        let recordBytes = headers.reduce(request.body.count + key.count) { $0 + 10 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        guard recordBytes <= self.producerRecordLimit else {
            return completion(.failure(.overRecordLimit(bytes: recordBytes)))
        }
        let send: @Sendable () -> Void = { [producer, topics, headers] in
            producer.enqueue(topic: topic, key: key, value: request.body, headers: headers, timeout: timeout, since: arrival) { result in
                // The broker may have lost the topic (an embedded broker restarts empty). A record
                // too large says nothing about the topic.
                if case .failure(let error) = result, error.code != .messageSizeTooLarge { topics.writeFailed(topic, code: error.code) }
                completion(result.mapError(Failure.kafka))
            }
        }
        guard self.topics.isKnown(topic) else {
            // A topic's first use: create it, waiting no longer than the ack deadline.
            Task { [topics] in
                do throws(KafkaError) {
                    try await topics.ensure(topic, before: arrival + timeout)
                    send()
                } catch {
                    completion(.failure(.kafka(error)))
                }
            }
            return
        }
        send()
    }

    /// The fatal error that made the producer unusable, if a fresh one cannot replace it now (see
    /// ``ReplaceableProducer/recoverIfFatal()``).
    func recoverProducer() -> KafkaError? {
        self.producer.recoverIfFatal()
    }

    /// Records queued in the current producer or awaiting the broker's acknowledgement: each is a
    /// request waiting for its answer (or one whose ack timeout has passed, until librdkafka's
    /// own message timeout).
    var recordsInFlight: Int {
        self.producer.outstandingCount
    }

    /// Sends what the producer holds without waiting for batches to fill, until everything is
    /// acknowledged or `timeout` has passed, in the background; the producer keeps taking records.
    func startFlushing(timeout: Duration) {
        Task { [producer] in await producer.flush(timeout: timeout) }
    }

    /// Flushes the producer (up to `timeout`) and releases it.
    func shutdown(timeout: Duration) async {
        await self.producer.shutdown(timeout: timeout)
    }
}

extension WebhookPublisher {
    /// The longest `Content-Type` a record carries; a longer one (no media type is near it) is
    /// not the sender's description of the body, and the record says `application/octet-stream`.
    static let maxContentTypeBytes = 256

    static func contentType(_ value: String?) -> String {
        guard let value, !value.isEmpty, value.utf8.count <= Self.maxContentTypeBytes else { return "application/octet-stream" }
        return value
    }

    /// Whether `value` is a W3C Trace Context `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>`, ids
    /// not all zeros, lowercase; a later version may add fields after a `-`. Anything else is not
    /// carried, so a consumer's tracer never parses what a sender made up.
    static func isTraceparent(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in  // the header's own storage: nothing copied on the request path
            guard bytes.count >= 55, bytes.count <= 512 else { return false }
            func isHex(_ range: Range<Int>) -> Bool {
                bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            }
            func isZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == 0x30 } }
            let dash = UInt8(ascii: "-")
            guard isHex(0..<2), bytes[2] == dash, isHex(3..<35), bytes[35] == dash, isHex(36..<52), bytes[52] == dash, isHex(53..<55),
                !isZero(3..<35), !isZero(36..<52), !(bytes[0] == 0x66 && bytes[1] == 0x66)
            else { return false }
            let version00 = bytes[0] == 0x30 && bytes[1] == 0x30
            return bytes.count == 55 || (!version00 && bytes[55] == dash)
        }
    }
}

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
}

extension HTTPFields {
    /// The first value of `name`. On the request path instead of the subscript, which joins a
    /// found field's values through unspecialised generic code (about 0.5 µs a lookup).
    func first(_ name: HTTPField.Name) -> String? {
        for field in self where field.name == name {
            return field.value
        }
        return nil
    }
}
