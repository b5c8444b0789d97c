import CRdKafka
import Foundation
import Logging
import Synchronization

/// Produces records and reports, per record, where the broker wrote it.
///
/// ``send(topic:key:value:headers:)`` returns only once the broker's delivery report
/// has arrived (with `acks=all` by default: once every in-sync replica has the
/// record), or throws. Concurrent sends are batched by librdkafka; nothing is
/// flushed per message. A broker that cannot take the record makes the send fail
/// after ``KafkaProducerConfiguration/messageTimeout``, never hang.
///
/// A dedicated thread serves librdkafka's delivery reports. Call ``shutdown(timeout:)``
/// to flush what is in flight and release the handle.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let poller: PollThread
    private let calls = HandleCalls()
    /// Per topic, made on first use: its `rd_kafka_topic_t` handle (producing through a handle
    /// spares librdkafka a locked lookup of the topic per record) and its acknowledged records.
    private let topics = Mutex<[String: (handle: OpaquePointer, acknowledgements: AcknowledgementCount)]>([:])
    private let deadlines = DeliveryDeadlines()
    public let configuration: KafkaProducerConfiguration
    /// Whether librdkafka keeps this producer's retries free of duplicates and reordering
    /// (`enable.idempotence`, as the properties leave it).
    public let isIdempotent: Bool

    /// How many records of `topic` the broker has acknowledged so far. A caller whose send timed
    /// out can tell a stuck producer (none acknowledged since it sent) from a slow broker (others
    /// were).
    public func acknowledgedCount(topic: String) -> Int {
        self.topics.withLock { $0[topic]?.acknowledgements }?.value.load(ordering: .relaxed) ?? 0
    }

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.isIdempotent = try configuration.checkSettings()
        let client = try RDKafkaClient(kind: .producer, properties: configuration.librdkafkaProperties, logger: logger) {
            rd_kafka_conf_set_dr_msg_cb($0, deliveryReport)
        }
        self.client = client
        let deadlines = self.deadlines
        self.poller = PollThread(name: "kafka-producer") {
            rd_kafka_poll(client.handle, 50)
            deadlines.expire(now: .now)
        }
    }

    deinit {
        // Topic handles go first: librdkafka keeps its own references for records in flight.
        self.destroyTopicHandles()
        self.client.destroyInBackground(after: self.poller.stop)
    }

    private func topic(_ name: String) -> (handle: OpaquePointer, acknowledgements: AcknowledgementCount)? {
        self.topics.withLock { topics in
            if let topic = topics[name] { return topic }
            guard let handle = rd_kafka_topic_new(self.client.handle, name, nil) else { return nil }
            topics[name] = (handle, AcknowledgementCount())
            return topics[name]
        }
    }

    private func destroyTopicHandles() {
        self.topics.withLock { topics in
            topics.values.forEach { rd_kafka_topic_destroy($0.handle) }
            topics = [:]
        }
    }

    /// Writes one record and waits for the broker's acknowledgement.
    ///
    /// - Parameters:
    ///   - key: the partitioning key; records with one key keep their order. Nil spreads records.
    ///   - value: the payload, copied by librdkafka before this call suspends.
    /// - Returns: where the record was written.
    /// - Throws: ``KafkaError`` when the record could not be queued or the broker did not take
    ///   it within the message timeout. A thrown send was not acknowledged; it may still have been
    ///   written (a timeout is not a proof of absence), so consumers deduplicate.
    ///   - timeout: how long to wait for the acknowledgement, when shorter than the producer's
    ///     message timeout. The send then fails with `_MSG_TIMED_OUT` on time (librdkafka checks
    ///     its own timeout only about once a second); the record may still be written later.
    ///   - start: when the timeout started counting, if before this call (a request's arrival).
    public func send(
        topic: String,
        key: [UInt8] = [],
        value: [UInt8],
        headers: [KafkaHeader] = [],
        timeout: Duration? = nil,
        since start: ContinuousClock.Instant? = nil
    ) async throws(KafkaError) -> KafkaDeliveryReport {
        // Unsafe (unchecked) continuation: `Delivery` resumes it exactly once, whichever of the
        // delivery report and the deadline comes first; this is the hot path.
        let result: Result<KafkaDeliveryReport, KafkaError> = await withUnsafeContinuation { continuation in
            let deadline = (timeout ?? self.configuration.messageTimeout, start ?? .now)
            if let error = self.enqueue(topic: topic, key: key, value: value, headers: headers, completion: .continuation(continuation), deadline: deadline) {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Writes one record and calls `completion` on the delivery-report thread when the broker
    /// acknowledged it or it failed. For callers that answer from a callback (the gateway's
    /// event-loop handler) or keep very many records in flight without a task each;
    /// ``send(topic:key:value:headers:timeout:since:)`` is the usual entry point.
    /// - Parameters: `timeout` and `start` as for ``send(topic:key:value:headers:timeout:since:)``.
    /// - Returns: nil when queued; the error when the record could not even be queued
    ///   (then `completion` is not called).
    public func enqueue(
        topic: String,
        key: [UInt8] = [],
        value: [UInt8],
        headers: [KafkaHeader] = [],
        timeout: Duration? = nil,
        since start: ContinuousClock.Instant? = nil,
        completion: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) -> KafkaError? {
        self.enqueue(
            topic: topic,
            key: key,
            value: value,
            headers: headers,
            completion: .callback(completion),
            deadline: (timeout ?? self.configuration.messageTimeout, start ?? .now)
        )
    }

    /// Queues the record; once queued, its `completion` fails at `deadline` (a timeout and when
    /// it started counting) unless its report came first. On an error it is not called.
    private func enqueue(
        topic: String,
        key: [UInt8],
        value: [UInt8],
        headers: [KafkaHeader],
        completion: Delivery.Completion,
        deadline: (timeout: Duration, since: ContinuousClock.Instant)
    ) -> KafkaError? {
        // All of it a counted call: a shutdown that finds none under way finds every record
        // either queued with its deadline tracked or refused.
        let queued = self.calls.run(whileClosing: false) { () -> KafkaError? in
            guard let entry = self.topic(topic) else {
                return KafkaError(rd_kafka_last_error(), operation: "producing to \(topic)")
            }
            let delivery = Delivery(topic: topic, completion: completion, acknowledgements: entry.acknowledgements)
            let opaque = Unmanaged.passRetained(delivery)
            let err = value.withUnsafeBytes { value in
                key.withUnsafeBytes { key in
                    self.produce(topicHandle: entry.handle, key: key, value: value, headers: headers, opaque: opaque.toOpaque())
                }
            }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                opaque.release()
                return KafkaError(err, operation: "producing to \(topic)")
            }
            self.deadlines.track(delivery, timeout: deadline.timeout, since: deadline.since)
            return nil
        }
        guard let queued else { return .closed("producing to \(topic)") }
        return queued
    }

    /// One `rd_kafka_produceva` call: librdkafka copies key, value and headers before returning.
    private func produce(
        topicHandle: OpaquePointer,
        key: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader],
        opaque: UnsafeMutableRawPointer
    ) -> rd_kafka_resp_err_t {
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6) { args in
            var count = 0
            func append(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
                var arg = rd_kafka_vu_t()
                arg.vtype = type
                set(&arg)
                args.initializeElement(at: count, to: arg)
                count += 1
            }
            append(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topicHandle }
            append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
            append(RD_KAFKA_VTYPE_VALUE) {
                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                $0.u.mem.size = value.count
            }
            if key.count > 0 {
                append(RD_KAFKA_VTYPE_KEY) {
                    $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    $0.u.mem.size = key.count
                }
            }
            append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
            // Ownership of the header list passes to librdkafka only when the call succeeds.
            var headerList: OpaquePointer?
            if !headers.isEmpty {
                let list = Self.makeHeaderList(headers)
                headerList = list
                append(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = list }
            }
            let error = rd_kafka_produceva(self.client.handle, args.baseAddress, count)
            guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
            if let headerList { rd_kafka_headers_destroy(headerList) }
            let code = rd_kafka_error_code(error)
            rd_kafka_error_destroy(error)
            return code
        }
    }

    private static func makeHeaderList(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            var name = header.key
            name.withUTF8 { name in
                name.withMemoryRebound(to: CChar.self) { name in
                    if let value = header.value {
                        value.withUnsafeBytes {
                            _ = rd_kafka_header_add(list, name.baseAddress, name.count, $0.baseAddress, $0.count)
                        }
                    } else {
                        _ = rd_kafka_header_add(list, name.baseAddress, name.count, nil, 0)
                    }
                }
            }
        }
        return list
    }

    /// Waits until every queued record has its delivery report, or the timeout passes.
    /// - Returns: false when records were still in flight at the timeout.
    @discardableResult
    public func flush(timeout: Duration) async -> Bool {
        await RDKafkaClient.blocking {
            self.calls.run {
                rd_kafka_flush(self.client.handle, Int32(clamping: timeout.milliseconds)) == RD_KAFKA_RESP_ERR_NO_ERROR
            } ?? true
        }
    }

    /// Stops taking records (later ones fail `closed`), flushes what is in flight (up to
    /// `timeout`), fails what is still left with a purge error, and, once no other call into the
    /// handle is under way, releases it: every pending send returns (a report that can no longer
    /// come fails it `closed`). Should calls still be under way after 5 s, the handle is left
    /// as it is, logged, rather than freed under them.
    public func shutdown(timeout: Duration = .seconds(10)) async {
        guard self.calls.close() else { return }
        let flushed = await self.flush(timeout: timeout)
        if !flushed {
            self.client.logger.warning("producer shut down with records still in flight; failing them")
            // It waits for librdkafka's threads to let go of the queues: not on the cooperative pool.
            _ = await RDKafkaClient.blocking {
                self.calls.run { rd_kafka_purge(self.client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)) }
            }
            _ = await self.flush(timeout: .seconds(1))
        }
        // Calls that started before the shutdown (a record being produced, another task's flush,
        // which the purge has emptied) end first: none may touch the handle once it is destroyed.
        let idle = await RDKafkaClient.blocking { self.destroyWhenIdle(within: .seconds(5)) }
        guard idle else {
            self.client.logger.error("producer shut down with calls into librdkafka still under way after 5 s; its handle is left as it is")
            return
        }
        // Whatever still waits would wait forever: the poll thread that reports and expires is gone.
        self.deadlines.failAll { topic in .closed("producing to \(topic)") }
    }

    /// Once no call is under way (waiting up to `limit`), so that none starts after: destroys the
    /// topic handles, the poll thread and the handle. Blocking.
    private func destroyWhenIdle(within limit: Duration) -> Bool {
        guard self.calls.retireWhenIdle(within: limit) else { return false }
        self.destroyTopicHandles()
        self.poller.stop()
        self.client.destroy()
        return true
    }

    /// The fatal error that made this producer unusable, if one happened (an idempotent producer
    /// that was fenced, for example). Every later send fails; make a new producer.
    /// Nil once the producer is shut down.
    public var fatalError: KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let err = self.calls.run { rd_kafka_fatal_error(self.client.handle, &buffer, buffer.count) } ?? RD_KAFKA_RESP_ERR_NO_ERROR
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(
            code: .init(err),
            message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            operation: "producing",
            isFatal: true
        )
    }

    /// Makes librdkafka declare this producer fatally broken, as it does a fenced idempotent
    /// producer (`rd_kafka_test_fatal_error`, librdkafka's own hook for testing that path).
    func simulateFatalError(reason: String) {
        _ = self.calls.run { rd_kafka_test_fatal_error(self.client.handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason) }
    }

    /// How many records are queued or in flight (none once the producer is shut down).
    public var outstandingCount: Int {
        self.calls.run { Int(rd_kafka_outq_len(self.client.handle)) } ?? 0
    }
}

// MARK: - Delivery reports

/// The per-record opaque: who to tell when the delivery report arrives. Completes once: the
/// first of the delivery report and the send's deadline wins.
final class Delivery: Sendable {
    enum Completion: Sendable {
        case continuation(UnsafeContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>)
        case callback(@Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
    }

    let topic: String
    let completion: Completion
    /// Its topic's count, which an acknowledgement of this record adds to.
    let acknowledgements: AcknowledgementCount
    private let completed = Atomic<Bool>(false)

    init(topic: String, completion: Completion, acknowledgements: AcknowledgementCount) {
        self.topic = topic
        self.completion = completion
        self.acknowledgements = acknowledgements
    }

    var isCompleted: Bool { self.completed.load(ordering: .acquiring) }

    func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        guard self.completed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        switch self.completion {
        case .continuation(let continuation): continuation.resume(returning: result)
        case .callback(let callback): callback(result)
        }
    }
}

/// Records of one topic the broker has acknowledged.
final class AcknowledgementCount: Sendable {
    let value = Atomic<Int>(0)
}

private let deliveryReport: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let delivery = Unmanaged<Delivery>.fromOpaque(opaque).takeRetainedValue()
    let err = message.pointee.err
    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
        delivery.acknowledgements.value.add(1, ordering: .relaxed)
        delivery.complete(
            .success(KafkaDeliveryReport(topic: delivery.topic, partition: message.pointee.partition, offset: message.pointee.offset))
        )
    } else {
        delivery.complete(.failure(KafkaError(err, operation: "producing to \(delivery.topic)")))
    }
}

extension KafkaProducerConfiguration {
    /// Checks the librdkafka properties as a producer would be made with them: names, values
    /// and combinations (idempotence with `acks` other than `all`, for one), and that they leave
    /// what every send relies on as this configuration says (see ``checkSettings()``), without
    /// contacting a broker.
    public func validate() throws(KafkaError) {
        try self.checkSettings()
        try RDKafkaClient.validate(kind: .producer, properties: self.librdkafkaProperties)
    }

    /// What librdkafka will do with these properties where every send relies on it, read back
    /// from librdkafka, since ``KafkaConfiguration/properties`` may override anything:
    /// - `acks` must stay ``acks``. librdkafka also takes it as `request.required.acks`,
    ///   `topic.acks` and `topic.request.required.acks`, and the last one set wins.
    /// - `delivery.report.only.error` must stay false: a send is answered by its delivery report,
    ///   and without one it would wait out its timeout although the record was written.
    ///
    /// - Returns: whether the producer is idempotent (`enable.idempotence`).
    @discardableResult
    func checkSettings() throws(KafkaError) -> Bool {
        let names = ["request.required.acks", "delivery.report.only.error", "enable.idempotence"]
        let values = try RDKafkaClient.effectiveValues(of: names, properties: self.librdkafkaProperties)
        let acks = values["request.required.acks"]
        guard Self.acksCount(acks) == Self.acksCount(self.acks) else {
            throw .configuration(
                "acks: the properties make it \(acks ?? "unknown"), where this producer needs \(self.acks) (acks, request.required.acks, topic.acks and topic.request.required.acks all set it)"
            )
        }
        guard values["delivery.report.only.error"] == "false" else {
            throw .configuration("delivery.report.only.error: every send is answered by its delivery report, so it must stay false")
        }
        return values["enable.idempotence"] == "true"
    }

    /// `all` is -1, as librdkafka stores it.
    private static func acksCount(_ acks: String?) -> Int? {
        acks == "all" ? -1 : acks.flatMap { Int($0) }
    }
}
