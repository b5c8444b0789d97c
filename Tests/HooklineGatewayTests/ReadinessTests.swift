import HooklineKafka
import HooklineTestSupport
import Synchronization
import Testing

@testable import HooklineGateway

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
}
