import Synchronization

/// Sends waiting for their acknowledgement, by deadline. The producer's poll thread fails the
/// ones past their deadline with `_MSG_TIMED_OUT` (within one poll interval), so a send's timeout
/// holds to the millisecond scale, which librdkafka's own once-a-second scan does not.
final class DeliveryDeadlines: Sendable {
    /// One FIFO per timeout value: within it, deadlines come in send order.
    private struct Queue {
        var entries: [(deadline: ContinuousClock.Instant, delivery: Delivery)] = []
        var head = 0

        /// Moves the expired entries at the front to `expired`, dropping completed ones on the way.
        mutating func expire(now: ContinuousClock.Instant, into expired: inout [Delivery]) {
            while self.head < self.entries.count {
                let entry = self.entries[self.head]
                if entry.delivery.isCompleted {
                    self.head += 1
                } else if entry.deadline <= now {
                    expired.append(entry.delivery)
                    self.head += 1
                } else {
                    break
                }
            }
            if self.head == self.entries.count {
                self.entries.removeAll(keepingCapacity: true)
                self.head = 0
            } else if self.head > 1024, self.head * 2 > self.entries.count {
                self.entries.removeFirst(self.head)
                self.head = 0
            }
        }
    }

    private let queues = Mutex<[Duration: Queue]>([:])

    func track(_ delivery: Delivery, timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        self.queues.withLock { $0[timeout, default: Queue()].entries.append((deadline, delivery)) }
    }

    /// Fails what passed its deadline, and forgets what completed meanwhile.
    func expire(now: ContinuousClock.Instant) {
        var expired: [Delivery] = []
        self.queues.withLock { queues in
            for timeout in queues.keys {
                queues[timeout]!.expire(now: now, into: &expired)
            }
        }
        for delivery in expired {
            delivery.complete(
                .failure(
                    KafkaError(
                        code: .messageTimedOut,
                        message: "the broker did not acknowledge the record in time",
                        operation: "producing to \(delivery.topic)",
                        isRetriable: true
                    )
                )
            )
        }
    }
}
