import HooklineKafka
import Synchronization

/// Lets a rebalance wait for the batch in hand: the runner holds the gate while it applies and
/// commits a batch; a revoke marks its partitions and waits until the gate is released.
///
/// Taking a batch out of the consumer's buffer and entering the gate are two steps, and a revoke
/// may come between them: it finds no batch in hand and returns at once, so the runner must
/// leave that revoke's records itself. ``expectBatch()`` before taking and ``enter()`` after it
/// tell it which partitions went meanwhile, and stayed gone: a partition assigned back before
/// the batch entered (``assigned(_:)``) restarts at the stored offset, and its records in the
/// batch, whether read before the revoke or after, are applied once by the offset check.
final class BatchGate: Sendable {
    private struct State {
        var busy = false
        var revoked: Set<TopicPartition> = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var taking = false
        var revokedWhileTaking: Set<TopicPartition> = []
    }

    private let state = Mutex(State())

    /// The runner is about to take a batch: revokes from now until ``enter()`` are remembered.
    func expectBatch() {
        self.state.withLock { state in
            state.taking = true
            state.revokedWhileTaking = []
        }
    }

    /// The runner takes a batch in hand. Returns the partitions revoked since ``expectBatch()``:
    /// their records in the batch belong to the next owner, who starts at the stored offset.
    func enter() -> Set<TopicPartition> {
        self.state.withLock { state in
            state.busy = true
            state.revoked = []
            state.taking = false
            defer { state.revokedWhileTaking = [] }
            return state.revokedWhileTaking
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

    /// The partitions are this consumer's again: their records in the batch being taken stay.
    func assigned(_ partitions: [TopicPartition]) {
        self.state.withLock { state in
            state.revokedWhileTaking.subtract(partitions)
        }
    }

    /// Marks the partitions as going and returns once no batch is in hand.
    func revoke(_ partitions: [TopicPartition]) async {
        await withCheckedContinuation { continuation in
            let idle = self.state.withLock { state in
                state.revoked.formUnion(partitions)
                if state.taking { state.revokedWhileTaking.formUnion(partitions) }
                if state.busy { state.waiters.append(continuation) }
                return !state.busy
            }
            if idle { continuation.resume() }
        }
    }
}
