import Foundation
import HooklineTestSupport
import Logging
import Synchronization
import Testing

@testable import HooklineKafka

@Suite("Offset gaps: a record past the one expected is read again before it is believed")
struct OffsetGapsTests {
    let partition = TopicPartition(topic: "t", partition: 0)
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { self.start + .milliseconds(milliseconds) }

    @Test("records in order are delivered; the first one sets the offset expected when the start was not exact")
    func inOrder() {
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: nil)
        for offset in Int64(7)...9 {
            #expect(gaps.received(self.partition, offset: offset, now: self.at(0)) == (.deliver, nil))
        }
        #expect(gaps.received(self.partition, offset: 11, now: self.at(0)) == (.drop, .suspected(from: 10, past: 11)))
    }

    @Test("a gap: the partition's records are dropped, read again from the gap after the delay, and the records found then delivered")
    func filled() {
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: 0)
        #expect(gaps.received(self.partition, offset: 0, now: self.at(0)) == (.deliver, nil))
        #expect(gaps.received(self.partition, offset: 3, now: self.at(10)) == (.drop, .suspected(from: 1, past: 3)))
        #expect(gaps.received(self.partition, offset: 4, now: self.at(20)) == (.drop, nil))
        #expect(gaps.readAgain(now: self.at(209)).isEmpty)
        let due = gaps.readAgain(now: self.at(210))
        #expect(due.map(\.0) == [self.partition] && due.map(\.1) == [1])
        #expect(gaps.readAgain(now: self.at(500)).isEmpty, "read again once")
        // Below the gap after the seek (librdkafka drops what was fetched before it, so none
        // should come): not delivered twice.
        #expect(gaps.received(self.partition, offset: 0, now: self.at(211)) == (.drop, nil))
        #expect(gaps.received(self.partition, offset: 1, now: self.at(212)) == (.deliver, .filled(from: 1, past: 3)))
        for offset in Int64(2)...4 {
            #expect(gaps.received(self.partition, offset: offset, now: self.at(213)) == (.deliver, nil))
        }
    }

    @Test("a gap still there is read again after twice and four times the delay, and kept only after the third read again; reading goes on after it")
    func kept() {
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: 5)
        #expect(gaps.received(self.partition, offset: 9, now: self.at(0)) == (.drop, .suspected(from: 5, past: 9)))
        #expect(gaps.readAgain(now: self.at(200)).map(\.1) == [5])
        #expect(gaps.received(self.partition, offset: 9, now: self.at(201)) == (.drop, .suspected(from: 5, past: 9)))
        #expect(gaps.readAgain(now: self.at(600)).isEmpty)
        #expect(gaps.readAgain(now: self.at(601)).map(\.1) == [5])
        #expect(gaps.received(self.partition, offset: 9, now: self.at(602)) == (.drop, .suspected(from: 5, past: 9)))
        #expect(gaps.readAgain(now: self.at(1401)).isEmpty)
        #expect(gaps.readAgain(now: self.at(1402)).map(\.1) == [5])
        #expect(gaps.received(self.partition, offset: 9, now: self.at(1403)) == (.deliver, .kept(from: 5, past: 9)))
        #expect(gaps.received(self.partition, offset: 10, now: self.at(1404)) == (.deliver, nil))
        #expect(gaps.nextReadAgain == nil)
    }

    @Test("a record stored later than the first read again is found by the next one")
    func filledOnALaterRead() {
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: 5)
        _ = gaps.received(self.partition, offset: 7, now: self.at(0))
        #expect(gaps.readAgain(now: self.at(200)).map(\.1) == [5])
        #expect(gaps.received(self.partition, offset: 6, now: self.at(201)) == (.drop, .suspected(from: 5, past: 6)))
        #expect(gaps.readAgain(now: self.at(601)).map(\.1) == [5])
        #expect(gaps.received(self.partition, offset: 5, now: self.at(602)) == (.deliver, .filled(from: 5, past: 7)))
        #expect(gaps.received(self.partition, offset: 6, now: self.at(603)) == (.deliver, nil))
    }

    @Test("a read again that could not start is tried once more after the delay, and not counted")
    func readAgainFailed() {
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: 0)
        _ = gaps.received(self.partition, offset: 2, now: self.at(0))
        #expect(gaps.readAgain(now: self.at(200)).count == 1)
        gaps.readAgainFailed(self.partition, now: self.at(201))
        #expect(gaps.received(self.partition, offset: 2, now: self.at(202)) == (.drop, nil), "nothing is believed until the partition is read again")
        #expect(gaps.readAgain(now: self.at(400)).isEmpty)
        #expect(gaps.readAgain(now: self.at(401)).map(\.1) == [0])
        // That was the first read again that happened: the next wait is twice the delay.
        #expect(gaps.received(self.partition, offset: 2, now: self.at(402)) == (.drop, .suspected(from: 0, past: 2)))
        #expect(gaps.readAgain(now: self.at(801)).isEmpty)
        #expect(gaps.readAgain(now: self.at(802)).map(\.1) == [0])
    }

    @Test("partitions are watched apart; a revoked or reassigned partition forgets its gap")
    func partitionsApart() {
        let other = TopicPartition(topic: "t", partition: 1)
        var gaps = OffsetGaps(delay: .milliseconds(200))
        gaps.assigned(self.partition, start: 0)
        gaps.assigned(other, start: 0)
        _ = gaps.received(self.partition, offset: 4, now: self.at(0))
        #expect(gaps.received(other, offset: 0, now: self.at(1)) == (.deliver, nil))
        gaps.revoked(self.partition)
        #expect(gaps.nextReadAgain == nil)
        #expect(gaps.readAgain(now: self.at(1000)).isEmpty)
        gaps.assigned(self.partition, start: 4)
        #expect(gaps.received(self.partition, offset: 4, now: self.at(1001)) == (.deliver, nil))
    }

    @Test("without a delay every fetch is believed")
    func off() {
        var gaps = OffsetGaps(delay: nil)
        gaps.assigned(self.partition, start: 0)
        #expect(gaps.received(self.partition, offset: 5, now: self.at(0)) == (.deliver, nil))
        #expect(gaps.readAgain(now: self.at(1000)).isEmpty)
    }

    /// Tansu takes a record's offset before it stores the record, so with several producers at
    /// once a fetch at the partition's end can find a later record stored and an earlier one not
    /// yet. Without reading it again the consumer went on past the missing record for good: with
    /// `HOOKLINE_TEST_NO_GAP_CHECK=1` (the check off) this failed 8 runs of 8 here, each with 1 to
    /// 5 records skipped; with it, every run passed and printed 1 to 4 gaps filled. Large records make the
    /// broker's window between taking an offset and storing the record wide enough to be hit
    /// within seconds.
    @Test("sixteen producers writing one partition at once: a consumer at its end receives every offset, in order", .timeLimit(.minutes(1)))
    func concurrentProducers() async throws {
        // Its own broker: the records (some 400 MB) go with it.
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("gaps")
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        let partition = TopicPartition(topic: topic, partition: 0)
        let logs = LogRecords()
        var configuration = TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("gaps"))
        // Fetching often, as a consumer at the end of a busy partition does.
        configuration.kafka.properties["fetch.wait.max.ms"] = "10"
        if ProcessInfo.processInfo.environment["HOOKLINE_TEST_NO_GAP_CHECK"] != nil { configuration.offsetGapRecheck = nil }
        let consumer = try KafkaConsumer(configuration: configuration, logger: logs.logger())
        try consumer.assign([partition: .offset(0)])

        // The consumer reads at the partition's end while the producers write.
        let received = Mutex<(next: Int64, outOfOrder: [(expected: Int64, got: Int64)])>((0, []))
        let reading = Task {
            while !Task.isCancelled {
                let batch = await consumer.nextBatch(timeout: .milliseconds(100))
                received.withLock { received in
                    for message in batch {
                        if message.offset != received.next { received.outOfOrder.append((received.next, message.offset)) }
                        received.next = message.offset + 1
                    }
                }
            }
        }
        let padding = [UInt8](repeating: 0x2E, count: 64_000)
        let until = ContinuousClock.now + .seconds(6)
        let written = try await withThrowingTaskGroup(of: Int.self) { group in
            // Each producer sends a record at a time (linger 0), so each record is a write of its own.
            let producers = try (0..<16).map { _ in
                try KafkaProducer(
                    configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), linger: .zero),
                    logger: TestKafka.logger
                )
            }
            for (index, producer) in producers.enumerated() {
                group.addTask {
                    var sent = 0
                    while ContinuousClock.now < until {
                        _ = try await producer.send(topic: topic, value: Array("\(index)-\(sent)".utf8) + padding)
                        sent += 1
                    }
                    return sent
                }
            }
            let sent = try await group.reduce(0, +)
            for producer in producers { await producer.shutdown() }
            return sent
        }
        let caughtUp = await eventually(timeout: .seconds(20)) { received.withLock { $0.next >= Int64(written) } }
        reading.cancel()
        await reading.value
        await consumer.close()

        let (next, outOfOrder) = received.withLock { ($0.next, $0.outOfOrder) }
        #expect(outOfOrder.isEmpty, "offsets received out of order (expected, got): \(outOfOrder.prefix(10))")
        #expect(caughtUp && next == Int64(written), "received up to \(next) of \(written) records")
        let filled = logs.all.filter { $0.message.hasPrefix("records a fetch had skipped were read again") }
        print("offset gaps: \(written) records, \(filled.count) gap(s) filled by reading again: \(filled.map { $0.metadata["kafka.skipped_offsets"] ?? "" })")
    }
}
