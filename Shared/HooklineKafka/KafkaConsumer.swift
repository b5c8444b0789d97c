import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// What a consumer tells its application when the group moves partitions.
///
/// Both methods are called on the consumer's poll thread while librdkafka waits for
/// them, so the group does not move on until they return.
public protocol KafkaRebalanceListener: Sendable {
    /// Partitions newly given to this consumer. Return where each starts; partitions left
    /// out start at ``KafkaStartOffset/committed``. A service whose offsets live in its own
    /// database reads them here.
    func partitionsAssigned(_ partitions: [TopicPartition]) async -> [TopicPartition: KafkaStartOffset]

    /// Partitions about to be taken away. Finish (apply and record) the work in hand for them
    /// before returning; records of these partitions not yet handed out are discarded.
    func partitionsRevoked(_ partitions: [TopicPartition]) async
}

/// A group member with manual offset control.
///
/// Messages arrive through ``nextBatch(maxCount:)`` or ``messages``; offsets move only when the
/// application calls ``commit(_:)``. A dedicated thread polls librdkafka while the application
/// works. When ``KafkaConsumerConfiguration/bufferCapacity`` records are waiting it takes only
/// one more a second (librdkafka keeps prefetching into its own bounded queue, and serves
/// rebalances only inside a poll); should the application stay stuck for half of
/// `max.poll.interval.ms`, it pauses fetching and polls on, so a slow application never makes the
/// consumer leave its group or hold up its rebalances.
///
/// A partition's records reach the application in offset order, none skipped for a broker that
/// returned records past one it had not finished writing: a record past the next offset expected
/// makes the partition be read again from there after
/// ``KafkaConsumerConfiguration/offsetGapRecheck`` (``OffsetGaps``).
public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    private let client: RDKafkaClient
    private let buffer: MessageBuffer
    private let gaps: LockedOffsetGaps
    private let listener: (any KafkaRebalanceListener)?
    /// The thread polling the handle, started by the first ``subscribe(topics:)`` or
    /// ``assign(_:)``. Taken, for good, by ``close()`` or `deinit` before the handle goes: a
    /// subscribe whose call ended just before the close then finds it taken and starts none.
    private let pollThread = Mutex<(thread: PollThread?, taken: Bool)>((nil, false))
    /// Calls into the handle under way: ``close()`` destroys it once none is, and none starts after.
    private let calls = HandleCalls()
    private let logger: Logger

    public init(
        configuration: KafkaConsumerConfiguration,
        rebalanceListener: (any KafkaRebalanceListener)? = nil,
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.listener = rebalanceListener
        self.logger = logger
        self.buffer = MessageBuffer(capacity: configuration.bufferCapacity)
        self.gaps = LockedOffsetGaps(delay: configuration.offsetGapRecheck)
        self.client = try RDKafkaClient(kind: .consumer, properties: configuration.librdkafkaProperties, logger: logger) {
            rd_kafka_conf_set_rebalance_cb($0, rebalanceCallback)
            rd_kafka_conf_set_offset_commit_cb($0, offsetCommitCallback)
        }
        // Serve everything (logs, errors, rebalances) from the consumer queue polled below.
        rd_kafka_poll_set_consumer(self.client.handle)
        let client = self.client
        let buffer = self.buffer
        let gaps = self.gaps
        let listener = self.listener
        self.client.callbackState.rebalance = { handle, err, list in
            Self.rebalance(handle: handle, err: err, list: list, buffer: buffer, gaps: gaps, listener: listener, logger: client.logger)
        }
    }

    deinit {
        let thread = self.takePollThread()
        self.buffer.close()
        // Not closed: librdkafka leaves the group as part of the destroy.
        self.client.destroyInBackground { thread?.stop() }
    }

    /// Joins the group and follows these topics. A name starting with `^` is a regular
    /// expression over topic names (librdkafka's syntax), matched again as topics appear.
    public func subscribe(topics: [String]) throws(KafkaError) {
        let err = self.calls.run(whileClosing: false) {
            let list = RDKafkaClient.makePartitionList(topics.map { (TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), 0) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_subscribe(self.client.handle, list)
        }
        guard let err else { throw .closed("subscribing to \(topics.joined(separator: ", "))") }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "subscribing to \(topics.joined(separator: ", "))")
        }
        self.startPolling()
    }

    /// Checks `topics` as ``subscribe(topics:)`` would take them, without a client: none is empty,
    /// and each that starts with `^` is a regular expression librdkafka compiles (it calls
    /// `regcomp` with `REG_EXTENDED`, as here). librdkafka refuses a subscription with a bad one,
    /// but only once the service has started and reached the broker.
    public static func validate(subscription topics: [String]) throws(KafkaError) {
        for topic in topics {
            guard !topic.isEmpty else {
                throw KafkaError(code: .invalidArgument, message: "an empty topic name", operation: "checking the subscription")
            }
            guard topic.hasPrefix("^") else { continue }
            var expression = regex_t()
            let status = regcomp(&expression, topic, REG_EXTENDED | REG_NOSUB)
            defer { if status == 0 { regfree(&expression) } }
            guard status == 0 else {
                var reason = [CChar](repeating: 0, count: 128)
                regerror(status, &expression, &reason, reason.count)
                let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(code: .invalidArgument, message: "\(topic) is not a regular expression: \(text)", operation: "checking the subscription")
            }
        }
    }

    /// Reads these partitions from these offsets without joining the group: no rebalance, no
    /// wait for a group join, and the listener is never called. For tools that look at a log
    /// (`hookline dlq`, `hookline lag`'s time lag), not for services, which share partitions
    /// through ``subscribe(topics:)``. Replaces any earlier assignment.
    public func assign(_ starts: [TopicPartition: KafkaStartOffset]) throws(KafkaError) {
        let err = self.calls.run(whileClosing: false) {
            let list = RDKafkaClient.makePartitionList(starts.map { ($0.key, $0.value.librdkafkaOffset) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            self.gaps.withLock { gaps in
                gaps.revokeAll()
                for (partition, start) in starts { gaps.assigned(partition, start: start.exactOffset) }
            }
            return rd_kafka_assign(self.client.handle, list)
        }
        guard let err else { throw .closed("assigning partitions") }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "assigning \(starts.keys.map(\.description).sorted().joined(separator: ", "))")
        }
        self.buffer.assignmentChanged()
        self.startPolling()
    }

    /// Whether a poll thread is running (tests).
    var isPolling: Bool { self.pollThread.withLock { $0.thread != nil } }

    /// The poll thread, if one started; none starts after.
    private func takePollThread() -> PollThread? {
        self.pollThread.withLock { poll in
            defer { poll = (nil, true) }
            return poll.thread
        }
    }

    private func startPolling() {
        self.pollThread.withLock { poll in
            guard poll.thread == nil, !poll.taken else { return }
            let client = self.client
            let buffer = self.buffer
            let gaps = self.gaps
            let logger = self.logger
            // Half of librdkafka's max.poll.interval.ms default (300 s), unless configured.
            let maxWait = Duration.milliseconds(
                Int64(self.configuration.kafka.properties["max.poll.interval.ms"].flatMap(Int64.init) ?? 300_000) / 2
            )
            poll.thread = PollThread(name: "kafka-consumer") {
                gaps.readAgainWhenDue(handle: client.handle, logger: logger)
                switch buffer.nextPollStep(now: .now, maxWait: maxWait) {
                case .poll: break
                case .wait:
                    usleep(2_000)
                    return
                case .pauseAndPoll: setPaused(true, handle: client.handle)
                case .resumeAndPoll: setPaused(false, handle: client.handle)
                }
                guard let message = rd_kafka_consumer_poll(client.handle, 100) else { return }
                defer { rd_kafka_message_destroy(message) }
                let err = message.pointee.err
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    if err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, let topic = message.pointee.rkt {
                        // A pattern nothing matches yet, or a named topic not created yet: webhook
                        // topics appear with their first event, and the subscription picks them up then.
                        logger.info("no topic for this subscription yet", metadata: ["kafka.topic": "\(String(cString: rd_kafka_topic_name(topic)))"])
                    } else {
                        logger.warning("consumer error", metadata: ["kafka.error": "\(KafkaError(err, operation: "consuming"))"])
                    }
                    return
                }
                let received = KafkaConsumerMessage(copying: message)
                guard gaps.deliver(received, logger: logger) else { return }
                buffer.append(received)
            }
        }
    }

}

/// Pauses or resumes fetching for the whole current assignment.
private func setPaused(_ paused: Bool, handle: OpaquePointer) {
    var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return }
    defer { rd_kafka_topic_partition_list_destroy(assignment) }
    if paused {
        rd_kafka_pause_partitions(handle, assignment)
    } else {
        rd_kafka_resume_partitions(handle, assignment)
    }
}

extension KafkaConsumer {
    /// Waits for records and returns up to `maxCount` of them, in order per partition.
    /// Returns an empty array once the consumer is closed or the calling task is cancelled.
    public func nextBatch(maxCount: Int = 1000) async -> [KafkaConsumerMessage] {
        await self.buffer.next(maxCount: maxCount)
    }

    /// Like ``nextBatch(maxCount:)``, but returns an empty array when nothing arrived within `timeout`.
    public func nextBatch(maxCount: Int = 1000, timeout: Duration) async -> [KafkaConsumerMessage] {
        // Records waiting already (the common case under load): no child tasks, no timer.
        if let batch = self.buffer.take(maxCount: maxCount) { return batch }
        return await withTaskGroup(of: [KafkaConsumerMessage]?.self) { group in
            group.addTask { await self.buffer.next(maxCount: maxCount) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // Whichever ends first cancels the other; a batch the reader took is never dropped.
            var batch: [KafkaConsumerMessage] = []
            for await result in group {
                if let result { batch = result }
                group.cancelAll()
            }
            return batch
        }
    }

    /// The records one at a time; ends when the consumer is closed.
    public var messages: Messages { Messages(consumer: self) }

    /// Stores these offsets as the group's committed position: for each partition, the
    /// offset of the *next* record to read. Returns once the broker has confirmed.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let client = self.client
        let calls = self.calls
        let entries = offsets.map { ($0.key, $0.value) }
        let err = await RDKafkaClient.blocking {
            calls.run(whileClosing: false) {
                let list = RDKafkaClient.makePartitionList(entries)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let err = rd_kafka_commit(client.handle, list, 0)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { return err }
                // A per-partition failure is reported in the list.
                return RDKafkaClient.entries(of: list).first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }?.error ?? err
            }
        }
        guard let err else { throw .closed("committing offsets for group \(self.configuration.groupID)") }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "committing offsets for group \(self.configuration.groupID)")
        }
    }

    /// Stores these offsets as the group's committed position without waiting for the broker:
    /// for progress reports (lag) where a lost commit costs nothing. Failures are logged.
    public func commitWithoutWaiting(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let err = self.calls.run(whileClosing: false) {
            let list = RDKafkaClient.makePartitionList(offsets.map { ($0.key, $0.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_commit(self.client.handle, list, 1)
        } ?? RD_KAFKA_RESP_ERR__DESTROY
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            self.logger.warning("offset commit not sent", metadata: ["kafka.error": "\(KafkaError(err, operation: "committing offsets"))"])
        }
    }

    /// Commits the position after these records (their offset + 1, the highest per partition).
    public func commit(after messages: [KafkaConsumerMessage]) async throws(KafkaError) {
        var offsets: [TopicPartition: Int64] = [:]
        for message in messages {
            offsets[message.topicPartition] = max(offsets[message.topicPartition] ?? 0, message.offset + 1)
        }
        try await self.commit(offsets)
    }

    /// The group's committed offsets for these partitions (nil where nothing was committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [TopicPartition: Int64?] {
        let client = self.client
        let calls = self.calls
        let answer: (rd_kafka_resp_err_t, [TopicPartition: Int64?])? = await RDKafkaClient.blocking {
            calls.run(whileClosing: false) {
                let list = RDKafkaClient.makePartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let err = rd_kafka_committed(client.handle, list, Int32(clamping: timeout.milliseconds))
                var offsets: [TopicPartition: Int64?] = [:]
                for entry in RDKafkaClient.entries(of: list) {
                    offsets[entry.topicPartition] = entry.offset >= 0 ? entry.offset : nil
                }
                return (err, offsets)
            }
        }
        guard let result = answer else { throw .closed("reading committed offsets of group \(self.configuration.groupID)") }
        guard result.0 == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result.0, operation: "reading committed offsets of group \(self.configuration.groupID)")
        }
        return result.1
    }

    /// The partitions currently assigned to this consumer.
    /// None once the consumer is closed.
    public var assignment: [TopicPartition] {
        self.calls.run(whileClosing: false) {
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(self.client.handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return RDKafkaClient.entries(of: list).map(\.topicPartition)
        } ?? []
    }

    /// Leaves the group (revoking partitions through the listener first), stops polling and
    /// releases the handle. ``nextBatch(maxCount:)`` then returns empty, and the other calls
    /// refuse (`closed`). Idempotent. Calls under way when it starts (a commit, say) end first;
    /// should one still be under way after 5 s, the handle is left as it is, logged, rather than
    /// freed under it.
    public func close() async {
        guard self.calls.close() else { return }
        let thread = self.takePollThread()
        let client = self.client
        let buffer = self.buffer
        let calls = self.calls
        await RDKafkaClient.blocking {
            thread?.stop()
            guard calls.retireWhenIdle(within: .seconds(5)) else {
                buffer.close()
                client.logger.error("consumer closed with calls into librdkafka still under way after 5 s; its handle is left as it is")
                return
            }
            // Runs the final revoke through the rebalance callback, on this thread.
            _ = rd_kafka_consumer_close(client.handle)
            buffer.close()
            client.destroy()
        }
    }

    // MARK: Rebalance

    private static func rebalance(
        handle: OpaquePointer,
        err: rd_kafka_resp_err_t,
        list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        buffer: MessageBuffer,
        gaps: LockedOffsetGaps,
        listener: (any KafkaRebalanceListener)?,
        logger: Logger
    ) {
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        let partitions = RDKafkaClient.entries(of: list).map(\.topicPartition)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions)"])
            var starts: [TopicPartition: KafkaStartOffset] = [:]
            if let listener {
                starts = waitFor { await listener.partitionsAssigned(partitions) }
                let count = Int(list.pointee.cnt)
                for index in 0..<count {
                    let element = list.pointee.elems[index]
                    let partition = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    list.pointee.elems[index].offset = (starts[partition] ?? .committed).librdkafkaOffset
                }
            }
            gaps.withLock { gaps in
                for partition in partitions { gaps.assigned(partition, start: starts[partition]?.exactOffset) }
            }
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    logger.error("incremental assign failed", metadata: ["kafka.error": "\(KafkaError(consuming: error, operation: "assigning"))"])
                }
            } else {
                rd_kafka_assign(handle, list)
            }
            // Start the new assignment unpaused; the poll loop pauses it again if still full.
            setPaused(false, handle: handle)
            buffer.assignmentChanged()
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            logger.info("partitions revoked", metadata: ["kafka.partitions": "\(partitions)"])
            buffer.discard(Set(partitions))
            gaps.withLock { gaps in
                for partition in partitions { gaps.revoked(partition) }
            }
            if let listener {
                waitFor { await listener.partitionsRevoked(partitions) }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) {
                    logger.error("incremental unassign failed", metadata: ["kafka.error": "\(KafkaError(consuming: error, operation: "unassigning"))"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
        default:
            logger.error("rebalance failed", metadata: ["kafka.error": "\(KafkaError(err, operation: "rebalancing"))"])
            // Everything is unassigned: the listener gives up what it holds, as on a revoke, so
            // that nothing of another member's partitions is applied or committed meanwhile.
            var held = Set(partitions)
            var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            if rd_kafka_assignment(handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment {
                held.formUnion(RDKafkaClient.entries(of: assignment).map(\.topicPartition))
                rd_kafka_topic_partition_list_destroy(assignment)
            }
            buffer.discard(held)
            gaps.withLock { $0.revokeAll() }
            if let listener, !held.isEmpty {
                let revoked = Array(held)
                waitFor { await listener.partitionsRevoked(revoked) }
            }
            rd_kafka_assign(handle, nil)
        }
    }
}

/// Runs async work from the poll thread and blocks that (non-cooperative) thread until it ends.
private func waitFor<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<T?>(nil)
    Task {
        let value = await work()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// Reports failed commits made with ``KafkaConsumer/commitWithoutWaiting(_:)`` (served by the poll thread).
private let offsetCommitCallback:
    @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = {
        handle, err, _, opaque in
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET, let opaque else { return }
        let callbacks = Unmanaged<RDKafkaClient.Callbacks>.fromOpaque(opaque).takeUnretainedValue()
        callbacks.logger.warning("offset commit failed", metadata: ["kafka.error": "\(KafkaError(err, operation: "committing offsets"))"])
    }

private let rebalanceCallback:
    @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = {
        handle, err, list, opaque in
        guard let handle, let list, let opaque else { return }
        let callbacks = Unmanaged<RDKafkaClient.Callbacks>.fromOpaque(opaque).takeUnretainedValue()
        callbacks.rebalance?(handle, err, list)
    }

/// ``OffsetGaps`` shared by the poll thread (records, rebalances, the reads again) and
/// ``KafkaConsumer/assign(_:)``; with the check off, records pass without taking its lock.
final class LockedOffsetGaps: Sendable {
    private let state: Mutex<OffsetGaps>
    private let enabled: Bool

    init(delay: Duration?) {
        self.state = Mutex(OffsetGaps(delay: delay))
        self.enabled = delay != nil
    }

    func withLock<Result: Sendable>(_ body: (inout OffsetGaps) -> Result) -> Result {
        self.state.withLock { body(&$0) }
    }

    /// Whether `message` goes to the application; logs what the check found.
    func deliver(_ message: KafkaConsumerMessage, logger: Logger) -> Bool {
        guard self.enabled else { return true }
        let (verdict, finding) = self.state.withLock { $0.received(message.topicPartition, offset: message.offset, now: .now) }
        switch finding {
        case nil: break
        case .suspected(let from, let past):
            logger.debug("a fetch returned records past offsets not received; reading the partition again", metadata: [
                "kafka.partition": "\(message.topicPartition)", "kafka.missing_offsets": "\(from)..<\(past)",
            ])
        case .filled(let from, let past):
            // The broker had handed out records past ones it had not finished writing: without the
            // reads again, these would have been skipped for good.
            logger.warning("records a fetch had skipped were read again; none is lost", metadata: [
                "kafka.partition": "\(message.topicPartition)", "kafka.skipped_offsets": "\(from)..<\(past)",
            ])
        case .kept(let from, let past):
            // A warning: on a broker that stores in order this is a real gap (none in Hookline's
            // own topics), and on one that does not, a record that took longer than every wait to
            // be stored, which the application will never see.
            logger.warning("no records at these offsets after reading them again (transaction markers, compaction or retention); going on", metadata: [
                "kafka.partition": "\(message.topicPartition)", "kafka.absent_offsets": "\(from)..<\(past)",
            ])
        }
        return verdict == .deliver
    }

    /// Seeks the partitions due to be read again; one that fails is tried again later. The seek is
    /// made under the lock, so that ``KafkaConsumer/assign(_:)`` on another thread cannot replace
    /// the assignment between the look and the seek; it waits for the seek to know whether it
    /// failed. librdkafka drops what was fetched for a partition before a seek of it.
    func readAgainWhenDue(handle: OpaquePointer, logger: Logger) {
        guard self.enabled else { return }
        let failed = self.state.withLock { gaps -> [(TopicPartition, rd_kafka_resp_err_t)] in
            let due = gaps.readAgain(now: .now)
            guard !due.isEmpty else { return [] }
            let list = RDKafkaClient.makePartitionList(due)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            var failed: [(TopicPartition, rd_kafka_resp_err_t)]
            if let error = rd_kafka_seek_partitions(handle, list, 5_000) {
                let code = rd_kafka_error_code(error)
                rd_kafka_error_destroy(error)
                failed = due.map { ($0.0, code) }
            } else {
                failed = RDKafkaClient.entries(of: list).filter { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map { ($0.topicPartition, $0.error) }
            }
            for (partition, _) in failed { gaps.readAgainFailed(partition, now: .now) }
            return failed
        }
        for (partition, code) in failed {
            logger.warning("could not read a partition again from before a gap; trying again", metadata: [
                "kafka.partition": "\(partition)", "kafka.error": "\(KafkaError(code, operation: "seeking"))",
            ])
        }
    }
}

extension KafkaStartOffset {
    /// The offset, when this start is one.
    var exactOffset: Int64? {
        if case .offset(let offset) = self { offset } else { nil }
    }

    var librdkafkaOffset: Int64 {
        switch self {
        case .offset(let offset): offset
        case .committed: Int64(RD_KAFKA_OFFSET_INVALID)
        case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: Int64(RD_KAFKA_OFFSET_END)
        }
    }
}

extension KafkaConsumerMessage {
    /// Copies everything out of a librdkafka message (which the caller then destroys).
    init(copying message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let m = message.pointee
        self.topic = String(cString: rd_kafka_topic_name(m.rkt))
        self.partition = m.partition
        self.offset = m.offset
        self.key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        self.value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.timestamp = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(key: String(cString: name!), value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) })
                )
                index += 1
            }
        }
        self.headers = headers
    }
}

// MARK: - Messages

extension KafkaConsumer {
    /// The consumer's records, one at a time. Ends when the consumer is closed.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = KafkaConsumerMessage
        let consumer: KafkaConsumer

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            var pending: [KafkaConsumerMessage] = []
            var index = 0

            public mutating func next() async -> KafkaConsumerMessage? {
                if self.index == self.pending.count {
                    self.pending = await self.consumer.nextBatch(maxCount: 1000)
                    self.index = 0
                    if self.pending.isEmpty { return nil }
                }
                defer { self.index += 1 }
                return self.pending[self.index]
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(consumer: self.consumer)
        }
    }
}

extension KafkaConsumerConfiguration {
    /// Checks the librdkafka properties as a consumer would be made with them (names, values and
    /// combinations), without contacting a broker.
    public func validate() throws(KafkaError) {
        try RDKafkaClient.validate(kind: .consumer, properties: self.librdkafkaProperties)
    }
}
