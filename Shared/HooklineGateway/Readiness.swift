import HooklineKafka
import Synchronization

/// Whether the gateway can take webhooks: its producer is usable and the broker answers a
/// metadata request. One request at a time, and at most one a second, however often `/readyz`
/// is asked: every probe that comes while one is under way (a silent broker keeps it for the
/// admin timeout) waits for that one's answer.
final class Readiness: Sendable {
    enum Verdict: Equatable, Sendable {
        case ready
        case brokerUnreachable
        /// librdkafka declared the producer unusable and a fresh one could not be made.
        case producerFailed(KafkaError.Code)
    }

    private struct State {
        var last: (at: ContinuousClock.Instant, ready: Bool)?
        var asking: Task<Bool, Never>?
    }

    private let admin: KafkaAdmin
    /// The producer's fatal error, once replacing a broken producer has been tried.
    private let producerFailure: @Sendable () -> KafkaError?
    private let state = Mutex(State())

    init(admin: KafkaAdmin, producerFailure: @escaping @Sendable () -> KafkaError?) {
        self.admin = admin
        self.producerFailure = producerFailure
    }

    func check() async -> Verdict {
        if let failure = self.producerFailure() {
            return .producerFailed(failure.code)
        }
        let (cached, asking): (Bool?, Task<Bool, Never>?) = self.state.withLock { state in
            if let last = state.last, last.at.duration(to: .now) < .seconds(1) { return (last.ready, nil) }
            if let asking = state.asking { return (nil, asking) }
            let admin = self.admin
            let asking = Task { (try? await admin.listTopics()) != nil }
            state.asking = asking
            return (nil, asking)
        }
        var ready = cached ?? false
        if let asking {
            ready = await asking.value
            self.state.withLock { state in
                guard state.asking == asking else { return }
                state = State(last: (.now, ready), asking: nil)
            }
        }
        return ready ? .ready : .brokerUnreachable
    }

    /// The last verdict, without waiting for the broker: for a metrics scrape, which a monitor
    /// gives up on sooner than a silent broker answers. One over a second old starts a check (as
    /// `/readyz` would), whose answer the next scrape reads; only before the first check does
    /// this wait for one.
    func lastVerdict() async -> Verdict {
        if let failure = self.producerFailure() {
            return .producerFailed(failure.code)
        }
        guard let last = self.state.withLock({ $0.last }) else { return await self.check() }
        if last.at.duration(to: .now) >= .seconds(1) {
            Task { _ = await self.check() }
        }
        return last.ready ? .ready : .brokerUnreachable
    }
}
