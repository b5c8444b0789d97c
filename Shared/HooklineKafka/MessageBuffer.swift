import Synchronization

/// Records fetched by the poll thread and not yet handed to the application.
final class MessageBuffer: Sendable {
    private struct State {
        var messages: [KafkaConsumerMessage] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var fetchPaused = false
        var fullSince: ContinuousClock.Instant?
        /// When the poll thread last polled while the buffer was full.
        var lastPollWhileFull: ContinuousClock.Instant?

        var count: Int { self.messages.count - self.head }
    }

    private let state = Mutex(State())
    let capacity: Int
    /// How often a full buffer is polled all the same (``PollStep/wait``).
    static let pollWhileFull = Duration.seconds(1)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// What the poll thread does next.
    enum PollStep: Equatable {
        /// Poll librdkafka for the next record.
        case poll
        /// The buffer is full: wait a moment without polling. librdkafka keeps prefetching into its
        /// own bounded queue, so nothing is fetched twice and throughput does not drop. Once every
        /// ``pollWhileFull`` it polls anyway (taking a record past the capacity): librdkafka serves
        /// rebalances only inside a poll, and a member that stopped polling would hold up the
        /// whole group's rebalance (a revoke never delivered) while its application is stuck.
        case wait
        /// Full for long (the application is stuck): pause fetching and poll anyway, so the group
        /// does not drop this member for missing `max.poll.interval.ms`.
        case pauseAndPoll
        /// Room again after a pause: resume fetching and poll.
        case resumeAndPoll
    }

    func nextPollStep(now: ContinuousClock.Instant, maxWait: Duration) -> PollStep {
        self.state.withLock { state in
            guard state.count >= self.capacity else {
                state.fullSince = nil
                state.lastPollWhileFull = nil
                guard state.fetchPaused else { return .poll }
                state.fetchPaused = false
                return .resumeAndPoll
            }
            let since = state.fullSince ?? now
            state.fullSince = since
            if state.fetchPaused { return .poll }
            guard since.duration(to: now) >= maxWait else {
                if let last = state.lastPollWhileFull, last.duration(to: now) < Self.pollWhileFull { return .wait }
                state.lastPollWhileFull = now
                return .poll
            }
            state.fetchPaused = true
            return .pauseAndPoll
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
    func take(maxCount: Int) -> [KafkaConsumerMessage]? {
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
