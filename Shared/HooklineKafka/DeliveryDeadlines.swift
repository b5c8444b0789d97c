import DequeModule
import Synchronization

/// Sends waiting for their acknowledgement, by deadline. The producer's poll thread fails the
/// ones past their deadline with `_MSG_TIMED_OUT` (within one poll interval), so a send's timeout
/// holds to the millisecond scale, which librdkafka's own once-a-second scan does not.
final class DeliveryDeadlines: Sendable {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let delivery: Delivery
    }

    /// The sends of one timeout value, earliest deadline first.
    private struct Lane {
        let timeout: Duration
        var entries: Deque<Entry>

        /// Puts `entry` in deadline order. Deadlines come nearly in send order (a send's may
        /// count from before it was sent: a request's arrival), so it goes at the back or a few
        /// places from it. A heap took a logarithmic number of swaps an insertion and a removal,
        /// each retaining and releasing a delivery: a quarter of `enqueue`'s throughput with
        /// 50,000 records in flight (docs/benchmarks.md).
        mutating func insert(_ entry: Entry) {
            var position = self.entries.endIndex
            while position > self.entries.startIndex, self.entries[position - 1].deadline > entry.deadline {
                position -= 1
            }
            self.entries.insert(entry, at: position)
        }
    }

    /// One lane per timeout value (a handful: one per source's ack timeout): the deliveries that
    /// completed long before their deadline leave from the front soon after. An array, mutated in
    /// place by index: a deque in a dictionary being iterated would be copied whole by every change.
    private let lanes = Mutex<[Lane]>([])

    /// Fails `delivery` if it is not complete by `start + timeout`.
    func track(_ delivery: Delivery, timeout: Duration, since start: ContinuousClock.Instant) {
        let entry = Entry(deadline: start + timeout, delivery: delivery)
        self.lanes.withLock { lanes in
            if let index = lanes.firstIndex(where: { $0.timeout == timeout }) {
                lanes[index].insert(entry)
            } else {
                lanes.append(Lane(timeout: timeout, entries: [entry]))
            }
        }
    }

    /// Fails what passed its deadline, and forgets what completed meanwhile.
    func expire(now: ContinuousClock.Instant) {
        var expired: [Delivery] = []
        self.lanes.withLock { lanes in
            for index in lanes.indices {
                Self.expire(&lanes[index].entries, now: now, into: &expired)
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

    /// Fails every delivery still waiting, with `error(topic)`, and forgets them all: for a
    /// producer whose handle is gone, whose reports will never come.
    func failAll(_ error: (String) -> KafkaError) {
        let waiting = self.lanes.withLock { lanes in
            defer { lanes = [] }
            return lanes.flatMap { $0.entries.map(\.delivery) }
        }
        for delivery in waiting where !delivery.isCompleted {
            delivery.complete(.failure(error(delivery.topic)))
        }
    }

    /// Removes the completed and the expired entries from the front of `lane`, collecting the expired.
    private static func expire(_ lane: inout Deque<Entry>, now: ContinuousClock.Instant, into expired: inout [Delivery]) {
        while let first = lane.first {
            if first.delivery.isCompleted {
                lane.removeFirst()
            } else if first.deadline <= now {
                expired.append(lane.removeFirst().delivery)
            } else {
                break
            }
        }
    }
}
