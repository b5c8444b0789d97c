import HooklineKafka
import Synchronization

/// Whether the broker answers: a metadata request, at most once a second however often
/// `/readyz` is asked.
final class Readiness: Sendable {
    private let admin: KafkaAdmin
    private let last = Mutex<(at: ContinuousClock.Instant, ready: Bool)?>(nil)

    init(admin: KafkaAdmin) {
        self.admin = admin
    }

    func check() async -> Bool {
        if let last = self.last.withLock({ $0 }), last.at.duration(to: .now) < .seconds(1) {
            return last.ready
        }
        let ready = (try? await self.admin.listTopics()) != nil
        self.last.withLock { $0 = (.now, ready) }
        return ready
    }
}
