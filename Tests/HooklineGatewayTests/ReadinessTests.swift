import HooklineTestSupport
import Synchronization
import Testing

@testable import HooklineGateway
@testable import HooklineKafka

@Suite("Readiness", .timeLimit(.minutes(1)))
struct ReadinessTests {
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
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let producer = try ReplaceableProducer(
            configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), messageTimeout: .seconds(10)),
            logger: TestKafka.logger
        )
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
}
