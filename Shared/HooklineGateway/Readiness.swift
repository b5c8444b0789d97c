import HooklineKafka
import Synchronization

/// Whether the gateway can take webhooks: its producer is usable and the broker answers a
/// metadata request (asked at most once a second however often `/readyz` is).
final class Readiness: Sendable {
    enum Verdict: Equatable, Sendable {
        case ready
        case brokerUnreachable
        /// librdkafka declared the producer unusable and a fresh one could not be made.
        case producerFailed(KafkaError.Code)
    }

    private let admin: KafkaAdmin
    /// The producer's fatal error, once replacing a broken producer has been tried.
    private let producerFailure: @Sendable () -> KafkaError?
    private let last = Mutex<(at: ContinuousClock.Instant, ready: Bool)?>(nil)

    init(admin: KafkaAdmin, producerFailure: @escaping @Sendable () -> KafkaError?) {
        self.admin = admin
        self.producerFailure = producerFailure
    }

    func check() async -> Verdict {
        if let failure = self.producerFailure() {
            return .producerFailed(failure.code)
        }
        if let last = self.last.withLock({ $0 }), last.at.duration(to: .now) < .seconds(1) {
            return last.ready ? .ready : .brokerUnreachable
        }
        let ready = (try? await self.admin.listTopics()) != nil
        self.last.withLock { $0 = (.now, ready) }
        return ready ? .ready : .brokerUnreachable
    }
}
