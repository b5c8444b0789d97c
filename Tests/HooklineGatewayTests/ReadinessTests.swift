import HooklineTestSupport
import Synchronization
import Testing

@testable import HooklineGateway
@testable import HooklineKafka

@Suite("Readiness", .timeLimit(.minutes(1)))
struct ReadinessTests {
    /// An admin client and a replaceable producer on the tests' shared broker.
    static func producerOnTheSharedBroker(fatalBackoffUnit: Duration = .seconds(1), quickDeath: Duration = .seconds(10)) async throws -> (KafkaAdmin, ReplaceableProducer) {
        let broker = try await TestKafka.broker()
        let producer = try ReplaceableProducer(
            configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), messageTimeout: .seconds(10)),
            fatalBackoffUnit: fatalBackoffUnit,
            quickDeath: quickDeath,
            logger: TestKafka.logger
        )
        return (try TestKafka.admin(broker), producer)
    }

    @Test("ready while the broker answers and the producer is usable; a failed producer, then a stopped broker, are not ready")
    func readinessFollowsProducerAndBroker() async throws {
        // A broker of its own: this test stops it (TestKafka's is shared).
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), requestTimeout: .seconds(2), logger: TestKafka.logger)
        let failure = Mutex<KafkaError?>(nil)
        let readiness = Readiness(admin: admin) { failure.withLock { $0 } }
        #expect(await readiness.check() == .ready)

        failure.withLock { $0 = KafkaError(code: .fatal, message: "fenced", operation: "producing", isFatal: true) }
        #expect(await readiness.check() == .producerFailed(.fatal))
        failure.withLock { $0 = nil }
        #expect(await readiness.check() == .ready)

        await broker.shutDown()
        // A verdict is kept for a second; then the broker's silence shows.
        let unreachable = await eventually(timeout: .seconds(10)) { await readiness.check() == .brokerUnreachable }
        #expect(unreachable)
    }

    @Test("a producer librdkafka declared fatally broken is replaced when readiness is asked, with no delivery to replace it")
    func brokenProducerIsReplacedByReadiness() async throws {
        let (admin, producer) = try await Self.producerOnTheSharedBroker()
        let readiness = Readiness(admin: admin) { producer.recoverIfFatal() }
        let broken = producer.producer
        broken.simulateFatalError(reason: "fenced in a test")
        #expect(broken.fatalError?.isFatal == true)

        #expect(await readiness.check() == .ready)
        #expect(producer.producer !== broken)
        #expect(producer.producer.fatalError == nil)
        let topic = TestKafka.uniqueName("recovered")
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        let delivered = await withCheckedContinuation { continuation in
            producer.enqueue(topic: topic, key: [], value: Array("after".utf8), headers: [], timeout: .seconds(10), since: .now) { continuation.resume(returning: $0) }
        }
        #expect((try? delivered.get()) != nil, "\(delivered)")
        await producer.shutdown(timeout: .seconds(2))
    }

    @Test("a fatal error that comes back with each new producer is not answered by a new producer at once each time, and readiness reports it until one lasts")
    func repeatedFatalErrorBacksOff() async throws {
        // Waits of 3 s, then 6 s, and 5 s to count as lasting: far from what a loaded machine
        // takes between two lines, and the 6 s wait outlasts the 5 s.
        let (admin, producer) = try await Self.producerOnTheSharedBroker(fatalBackoffUnit: .seconds(3), quickDeath: .seconds(5))
        defer { Task { await producer.shutdown(timeout: .seconds(1)) } }
        let readiness = Readiness(admin: admin) { producer.recoverIfFatal() }

        // Once (a fenced producer): replaced at once, and ready. (Asked of the producer itself:
        // readiness then asks the broker too, which under load can outlast the first wait.)
        let original = producer.producer
        original.simulateFatalError(reason: "fenced in a test")
        #expect(producer.recoverIfFatal() == nil)
        let first = producer.producer
        #expect(first !== original)

        // Again at once: the successor waits 3 s from its start, not ready meanwhile.
        first.simulateFatalError(reason: "refused again")
        #expect(producer.recoverIfFatal()?.isFatal == true)
        #expect(producer.producer === first)
        try await Task.sleep(for: .milliseconds(3100))
        // Replaced now; the error is still reported while the new one has not lasted.
        #expect(producer.recoverIfFatal()?.isFatal == true)
        let second = producer.producer
        #expect(second !== first && second.fatalError == nil)

        // Its third death in a row waits 6 s. It died at once, though replaced only after more
        // than the 5 s that count as lasting: still a quick death, and still not ready.
        second.simulateFatalError(reason: "and again")
        #expect(producer.recoverIfFatal() != nil)
        #expect(producer.producer === second)
        try await Task.sleep(for: .milliseconds(6100))
        #expect(producer.recoverIfFatal()?.isFatal == true)
        let third = producer.producer
        #expect(third !== second && third.fatalError == nil)

        // One that lasts 5 s ends it: ready again.
        try await Task.sleep(for: .milliseconds(5100))
        #expect(producer.recoverIfFatal() == nil)
        #expect(await readiness.check() == .ready)

        #expect(ReplaceableProducer.fatalBackoff(after: 0) == .zero)
        #expect((1...8).map { ReplaceableProducer.fatalBackoff(after: $0) } == [1, 2, 4, 8, 16, 30, 30, 30].map { .seconds($0) })
    }

    @Test("a write that times out while the broker acknowledges others leaves the producer in place; one with nothing acknowledged since it was queued replaces it")
    func onlyAStuckProducerIsReplaced() async throws {
        // A broker of its own: this test stops it.
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let topic = TestKafka.uniqueName("slow")
        try await TestKafka.admin(broker).createTopics([.init(name: topic, partitions: 1)])
        // Every record waits 200 ms for its batch, past its 20 ms timeout: each send times out while
        // the records before it are being acknowledged, as with a broker slower than the deadline.
        var configuration = KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), messageTimeout: .seconds(10))
        configuration.linger = .milliseconds(200)
        let producer = try ReplaceableProducer(configuration: configuration, logger: TestKafka.logger)
        defer { Task { await producer.shutdown(timeout: .seconds(1)) } }
        let original = producer.producer
        let send: @Sendable (_ timeout: Duration) async -> Result<KafkaDeliveryReport, KafkaError> = { timeout in
            await withCheckedContinuation { continuation in
                producer.enqueue(topic: topic, key: [], value: Array("slow".utf8), headers: [], timeout: timeout, since: .now) {
                    continuation.resume(returning: $0)
                }
            }
        }
        let timedOut = Counter()
        // Until more than 20 have timed out and more than 20 been acknowledged (about 3 s on a
        // quiet machine; under a full run's load the first connection alone took most of a fixed
        // 3 s, clean-clone CI ci59), 30 s at most.
        let end = ContinuousClock.now + .seconds(30)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    while ContinuousClock.now < end, timedOut.value <= 20 || original.acknowledgedCount(topic: topic) <= 20 {
                        if case .failure(let error) = await send(.milliseconds(20)), error.code == .messageTimedOut {
                            timedOut.increment()
                        }
                    }
                }
            }
        }
        #expect(timedOut.value > 20, "the sends did not time out: the test shows nothing")
        #expect(original.acknowledgedCount(topic: topic) > 20)
        #expect(producer.producer === original, "replaced while the broker was acknowledging")

        // The broker goes away: nothing is acknowledged any more, and a send that times out now
        // replaces the producer.
        await broker.shutDown()
        if case .failure(let error) = await send(.milliseconds(500)) {
            #expect(error.code == .messageTimedOut, "\(error)")
        } else {
            Issue.record("acknowledged with the broker stopped")
        }
        #expect(await eventually(timeout: .seconds(5)) { producer.producer !== original })
        #expect(producer.producer.fatalError == nil)
    }
}
