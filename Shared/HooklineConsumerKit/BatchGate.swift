import HooklineKafka
import Synchronization

/// Lets a rebalance wait for the batch in hand: the runner holds the gate while it applies and
/// commits a batch; a revoke marks its partitions and waits until the gate is released.
final class BatchGate: Sendable {
    private struct State {
        var busy = false
        var revoked: Set<TopicPartition> = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// The runner takes a batch in hand.
    func enter() {
        self.state.withLock { state in
            state.busy = true
            state.revoked = []
        }
    }

    /// The batch in hand is committed (or given up); wakes waiting revokes.
    func leave() {
        let waiters = self.state.withLock { state in
            state.busy = false
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Whether a pending revoke takes this partition: the runner stops retrying its records.
    func isRevoked(_ partition: TopicPartition) -> Bool {
        self.state.withLock { $0.revoked.contains(partition) }
    }

    /// Marks the partitions as going and returns once no batch is in hand.
    func revoke(_ partitions: [TopicPartition]) async {
        await withCheckedContinuation { continuation in
            let idle = self.state.withLock { state in
                state.revoked.formUnion(partitions)
                if state.busy { state.waiters.append(continuation) }
                return !state.busy
            }
            if idle { continuation.resume() }
        }
    }
}
