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

    init(configuration: HooklineConfiguration, ackTimeouts: Set<Int>, replicaID: String, admin: KafkaAdmin, logger: Logger) throws(KafkaError) {
        self.producer = try ReplaceableProducer(
            configuration: Self.producerConfiguration(configuration, ackTimeouts: ackTimeouts),
            logger: logger
        )
        self.longestAckTimeoutMs = Self.longestAckTimeoutMs(configuration, ackTimeouts: ackTimeouts)
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
        //   max.message.bytes and refuses every record of one over it, MSG_SIZE_TOO_LARGE each,
        //   which is a 413. Under 64 KiB, only a record that is too large alone is refused
        //   (librdkafka lets one record of any size be a batch), so a 413 is the record's own,
        //   on a topic whose limit was set low too. Typical webhooks fill 16 a batch far below it.
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
        completion: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) {
        let timeout = Duration.milliseconds(source.ackTimeoutMs)
        // A body that took the whole timeout to arrive is not published: the provider gave up.
        guard arrival + timeout > .now else {
            return completion(
                .failure(KafkaError(code: .timedOut, message: "the request used up its ack timeout before publishing", operation: "producing to \(topic)", isRetriable: true))
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
        let send: @Sendable () -> Void = { [producer, topics, headers] in
            producer.enqueue(topic: topic, key: key, value: request.body, headers: headers, timeout: timeout, since: arrival) { result in
                // The broker may have lost the topic (an embedded broker restarts empty): check it
                // again next time. A record too large says nothing about the topic.
                if case .failure(let error) = result, error.code != .messageSizeTooLarge { topics.forget(topic) }
                completion(result)
            }
        }
        guard self.topics.isKnown(topic) else {
            // A topic's first use: create it, waiting no longer than the ack deadline.
            Task { [topics] in
                do throws(KafkaError) {
                    try await topics.ensure(topic, before: arrival + timeout)
                    send()
                } catch {
                    completion(.failure(error))
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

/// A producer that is replaced by a fresh one when it cannot recover by itself, so one bad moment
/// of the broker does not make every later request fail:
/// - librdkafka declared it fatally broken (an idempotent producer fenced), or
/// - an idempotent producer's write timed out, and a second later it has had no record of that
///   topic acknowledged since that one was queued: after a broker restart its producer id is
///   unknown there and it retries forever (seen with the embedded broker), while a topic it had
///   not written before may go through. A new producer gets a new id. A write that timed out
///   while its topic's others were acknowledged met a slow broker, not a stuck producer, and
///   replacing it would only fail the records it holds. At most one such replacement every two
///   seconds; a fatally broken producer is replaced at once.
///
/// A fatal error that comes back with each new producer (a cluster that refuses this client an
/// idempotent producer id: an authorization, an unsupported feature) would otherwise make a new
/// handle, its threads and its connections many times a second: once producers have died of it
/// within ``quickDeath`` of their start, each replacement waits 1, 2, 4 … up to 30 s from the
/// last one, and readiness reports the error until a producer outlives ``quickDeath``.
///
/// A record that meets a producer being replaced goes to its successor.
final class ReplaceableProducer: Sendable {
    private struct Current {
        var producer: KafkaProducer
        var since: ContinuousClock.Instant
        var replacing = false
        /// When this producer's fatal error was first seen: its death, which its replacement may
        /// come well after, held back by the backoff.
        var diedAt: ContinuousClock.Instant?
        /// Producers in a row, before this one, that died of a fatal error within ``quickDeath``.
        var quickFatalDeaths = 0
        /// The last of those deaths' error.
        var lastFatal: KafkaError?
    }

    /// How long a producer must have lived before a fatal error replaces it, after `deaths` quick
    /// fatal deaths: `unit`, doubled for each death after the first, at most 30 s.
    static func fatalBackoff(after deaths: Int, unit: Duration = .seconds(1)) -> Duration {
        deaths == 0 ? .zero : min(unit * (1 << min(deaths - 1, 5)), .seconds(30))
    }

    private let current: Mutex<Current>
    /// The first wait of ``fatalBackoff(after:unit:)`` (tests set it, to be told apart from a slow machine).
    private let fatalBackoffUnit: Duration
    /// A producer that dies of a fatal error sooner than this after its start counts as one that
    /// met a fatal error coming back; one that lasts longer ends the backoff. 10 s (tests set it).
    private let quickDeath: Duration
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    init(
        configuration: KafkaProducerConfiguration,
        fatalBackoffUnit: Duration = .seconds(1),
        quickDeath: Duration = .seconds(10),
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.fatalBackoffUnit = fatalBackoffUnit
        self.quickDeath = quickDeath
        self.logger = logger
        self.current = Mutex(Current(producer: try KafkaProducer(configuration: configuration, logger: logger), since: .now))
    }

    /// Queues one record; `completion` gets its delivery report (see ``KafkaProducer/enqueue``),
    /// also when it could not be queued.
    func enqueue(
        topic: String,
        key: [UInt8],
        value: [UInt8],
        headers: [KafkaHeader],
        timeout: Duration,
        since start: ContinuousClock.Instant,
        completion: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) {
        var producer = self.producer
        for attempt in 1...2 {
            let acknowledgedBefore = producer.acknowledgedCount(topic: topic)
            let done: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void = { [producer] result in
                if case .failure(let error) = result {
                    // Replacing makes a new librdkafka handle: do it beside the request, not in its way.
                    if let fatal = producer.fatalError {
                        Task { self.replace(producer, because: fatal) }
                    } else if error.code == .messageTimedOut, producer.isIdempotent {
                        self.replaceIfStuck(producer, topic: topic, acknowledgedBefore: acknowledgedBefore, because: error)
                    }
                }
                completion(result)
            }
            guard let error = producer.enqueue(topic: topic, key: key, value: value, headers: headers, timeout: timeout, since: start, completion: done) else {
                return
            }
            // Replaced between reading it and producing: the successor takes the record.
            let successor = self.producer
            if error.code == .closed, attempt == 1, successor !== producer {
                producer = successor
                continue
            }
            done(.failure(error))
            return
        }
    }

    /// The producer records go to now.
    var producer: KafkaProducer {
        self.current.withLock { $0.producer }
    }

    /// Replaces the current producer if librdkafka declared it fatally broken, and returns the
    /// error when that failed. Asked by `/readyz`: a replica taken out of rotation for a broken
    /// producer gets no delivery whose failure would replace it, so readiness must.
    func recoverIfFatal() -> KafkaError? {
        let producer = self.producer
        if let fatal = producer.fatalError { self.replace(producer, because: fatal) }
        return self.current.withLock { current in
            if let fatal = current.producer.fatalError { return fatal }
            // Twice in a row at once: the next one has to prove itself first.
            guard current.quickFatalDeaths >= 2, current.since.duration(to: .now) < self.quickDeath else { return nil }
            return current.lastFatal
        }
    }

    /// Records queued in the current producer or in flight to the broker.
    var outstandingCount: Int {
        self.producer.outstandingCount
    }

    /// Replaces `producer` if, a second from now, it has had no record of `topic` acknowledged
    /// since it had acknowledged `count`: time enough for a slow broker's acknowledgements, which
    /// come a batch at a time, to show. Each timed-out write checks for itself, so that an older
    /// one's check, which other acknowledgements may have cleared, does not stand for it.
    private func replaceIfStuck(_ producer: KafkaProducer, topic: String, acknowledgedBefore count: Int, because reason: KafkaError) {
        Task {
            try? await Task.sleep(for: .seconds(1))
            if self.producer === producer, producer.acknowledgedCount(topic: topic) == count {
                self.replace(producer, because: reason)
            }
        }
    }

    private func replace(_ broken: KafkaProducer, because reason: KafkaError) {
        // Decided under the lock, built outside it: every request reads the producer through this
        // lock, and a new librdkafka handle starts threads. `replacing` keeps a second caller from
        // building another meanwhile, so `broken` is still current when the fresh one is swapped in.
        let due = self.current.withLock { current -> Bool in
            guard current.producer === broken else { return false }
            if reason.isFatal, current.diedAt == nil { current.diedAt = .now }
            let lived = current.since.duration(to: .now)
            guard !current.replacing,
                reason.isFatal ? lived >= Self.fatalBackoff(after: current.quickFatalDeaths, unit: self.fatalBackoffUnit) : lived > .seconds(2)
            else { return false }
            current.replacing = true
            return true
        }
        guard due else { return }
        let fresh = try? KafkaProducer(configuration: self.configuration, logger: self.logger)
        let replaced = self.current.withLock { current -> Bool in
            current.replacing = false
            guard let fresh else { return false }
            let quick = reason.isFatal && current.since.duration(to: current.diedAt ?? .now) < self.quickDeath
            current = Current(
                producer: fresh,
                since: .now,
                quickFatalDeaths: quick ? current.quickFatalDeaths + 1 : 0,
                lastFatal: quick ? reason : nil
            )
            return true
        }
        guard replaced else { return }
        self.logger.warning("replaced the Kafka producer", metadata: ["kafka.error": "\(reason)"])
        // A second, not the longest ack deadline: what the old producer holds is mostly records
        // already answered 503 (a broker gone), and draining longer writes them once the broker is
        // back, a duplicate of the provider's retry each (the broker-down test saw it). Records of
        // healthy topics still in flight meanwhile are purged and answered 503 in turn.
        Task { await broken.shutdown(timeout: .seconds(1)) }
    }

    func flush(timeout: Duration) async {
        _ = await self.producer.flush(timeout: timeout)
    }

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
