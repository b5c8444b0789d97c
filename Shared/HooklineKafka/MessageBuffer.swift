import Synchronization

/// Records fetched by the poll thread and not yet handed to the application.
final class MessageBuffer: Sendable {
    private struct State {
        var messages: [KafkaConsumerMessage] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var fetchPaused = false

        var count: Int { self.messages.count - self.head }
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether fetching should now pause (true) or resume (false); nil when nothing changes.
    /// Pauses at capacity and resumes at half, so it does not flap.
    func fetchTransition() -> Bool? {
        self.state.withLock { state in
            if !state.fetchPaused, state.count >= self.capacity {
                state.fetchPaused = true
                return true
            }
            if state.fetchPaused, state.count <= self.capacity / 2 {
                state.fetchPaused = false
                return false
            }
            return nil
        }
    }

    /// After a rebalance the new assignment is not paused yet: pause it again if still full.
    func assignmentChanged() {
        self.state.withLock { $0.fetchPaused = false }
    }

    func append(_ message: KafkaConsumerMessage) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.messages.append(message)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Drops records of these partitions that were not handed out yet.
    func discard(_ partitions: Set<TopicPartition>) {
        self.state.withLock { state in
            state.messages = state.messages[state.head...].filter { !partitions.contains($0.topicPartition) }
            state.head = 0
        }
    }

    func close() {
        self.state.withLock { $0.closed = true }
        self.wakeWaiter()
    }

    /// Up to `maxCount` records, waiting for at least one; empty once closed or when the
    /// calling task is cancelled. One task reads at a time: a consumer has one processing loop.
    func next(maxCount: Int) async -> [KafkaConsumerMessage] {
        while !Task.isCancelled {
            if let batch = self.take(maxCount: maxCount) { return batch }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state in
                        if state.count > 0 || state.closed || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.wakeWaiter()
            }
        }
        return []
    }

    private func wakeWaiter() {
        let waiter = self.state.withLock { state in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Up to `maxCount` records; empty when closed; nil when there is nothing yet.
    private func take(maxCount: Int) -> [KafkaConsumerMessage]? {
        self.state.withLock { state in
            guard state.count > 0 else { return state.closed ? [] : nil }
            let end = min(state.messages.count, state.head + maxCount)
            let batch = Array(state.messages[state.head..<end])
            state.head = end
            // Reclaim the consumed front once it dominates the array.
            if state.head > 4096, state.head * 2 > state.messages.count {
                state.messages.removeFirst(state.head)
                state.head = 0
            }
            return batch
        }
    }
}
