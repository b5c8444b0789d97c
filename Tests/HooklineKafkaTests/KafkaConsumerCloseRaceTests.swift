import Foundation
@testable import HooklineKafka
import HooklineTestSupport
import Synchronization
import Testing

@Suite("Consumer close racing its start", .timeLimit(.minutes(3)))
struct KafkaConsumerCloseRaceTests {
    /// `assign` (and `subscribe`) start the poll thread after their counted call into the handle
    /// has ended. A `close()` in between used to find no thread to stop and destroy the handle, and
    /// the thread started next polled the destroyed handle: the test process died (heap corruption,
    /// SIGABRT or SIGSEGV) in 4 runs of 5 before the close took the thread slot for good.
    @Test("a close racing an assign leaves no poll thread behind on the destroyed handle")
    func closeRacingAssign() async throws {
        let broker = try await TestKafka.broker()
        let topic = TestKafka.uniqueName("close-race")
        let admin = try TestKafka.admin(broker)
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        var leftPolling = 0
        for round in 0..<40 {
            let consumer = try KafkaConsumer(
                configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("close-race")),
                logger: TestKafka.logger
            )
            let go = Atomic<Bool>(false)
            let assigned = DispatchSemaphore(value: 0)
            // On an OS thread of its own, spinning, so it starts the moment the close is about to.
            Thread {
                while !go.load(ordering: .acquiring) {}
                _ = try? consumer.assign([TopicPartition(topic: topic, partition: 0): .beginning])
                assigned.signal()
            }.start()
            go.store(true, ordering: .releasing)
            // Sweep the close's start over the assign's call into librdkafka (0 to 390 µs later).
            let spinUntil = ContinuousClock.now + .microseconds(10 * (round % 40))
            while ContinuousClock.now < spinUntil {}
            await consumer.close()
            await withCheckedContinuation { continuation in
                Thread {
                    assigned.wait()
                    continuation.resume()
                }.start()
            }
            if consumer.isPolling { leftPolling += 1 }
        }
        #expect(leftPolling == 0, "\(leftPolling) of 40 consumers kept a poll thread after close() destroyed their handle")
    }
}
