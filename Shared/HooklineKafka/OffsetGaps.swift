/// Watches each partition's offsets as a consumer receives them, so that no record is skipped
/// because a broker answered a fetch with records past one it had not finished writing.
///
/// Kafka appends a partition's records under one lock, so a fetch never returns offset 449
/// while 447 is still being written. Tansu, the embedded broker, takes a record's offset before it
/// stores the record: with several producers writing to one partition (gateway replicas), a fetch
/// can find 449 stored and 447 not yet, return 449, and the consumer goes on from 450, never to
/// see 447. Measured here: one to four times in six seconds of sixteen producers writing 64 KB
/// records to one partition (`OffsetGapsTests`), and twice in some 35 runs of `make test-compose`.
///
/// So a record past the offset expected next is a gap to look at again, not to believe at once:
/// the partition's records are dropped from there, and after ``delay`` it is read again from the
/// offset expected. Records that were missing the first time are delivered then, in order. A gap
/// still there is read again up to ``maximumReads`` times, each wait twice the one before (200,
/// 400 and 800 ms by default: a broker busy enough to take longer than the first wait to store a
/// record is given 1.4 s in all); one still there after that is a real one (transaction markers,
/// aborted transactions under read_committed, compaction, records removed by retention) and kept.
/// Each real gap costs those waits and fetches of what followed it again: Hookline's own topics have none (the gateway
/// and the dead-letter writer write without transactions, and nothing compacts them), but a
/// consumer of a topic with many transactions would fall behind, and should turn the check off.
/// Only offsets known to be the next one are checked: from an explicit start offset, or from the
/// record before. The check trusts librdkafka to drop records fetched before the seek.
///
/// Not thread-safe: the consumer keeps one under a lock.
struct OffsetGaps {
    /// How long to wait before reading a gap again the first time (twice as long each next time);
    /// `nil` believes every fetch.
    let delay: Duration?
    /// How many times a gap is read again before it is believed.
    static let maximumReads = 3
    private var partitions: [TopicPartition: Partition] = [:]
    /// The soonest a partition is due to be read again; `nil` when none waits. Kept so that the
    /// poll loop's look between records costs one comparison.
    private(set) var nextReadAgain: ContinuousClock.Instant?

    private struct Partition {
        /// The offset the next record should have, when known.
        var expected: Int64?
        /// A gap being looked at again: records from `from` were fetched first at `past`; `reads`
        /// reads again were started.
        var gap: (from: Int64, past: Int64, readAgainAt: ContinuousClock.Instant, readingAgain: Bool, reads: Int)?
    }

    /// What to do with a record.
    enum Verdict: Equatable {
        /// Hand it to the application.
        case deliver
        /// Drop it: its partition is read again from an earlier offset.
        case drop
    }

    /// What the consumer should log.
    enum Finding: Equatable {
        /// Records `from..<past` were missing from a fetch; the partition is read again.
        case suspected(from: Int64, past: Int64)
        /// A read again found the records the first read had skipped.
        case filled(from: Int64, past: Int64)
        /// The last read again found no record in `from..<past` either: a real gap.
        case kept(from: Int64, past: Int64)
    }

    init(delay: Duration?) {
        self.delay = delay
    }

    /// A partition assigned (again) to start at `start`, when it is an exact offset.
    mutating func assigned(_ partition: TopicPartition, start: Int64?) {
        self.partitions[partition] = Partition(expected: start)
        self.scheduleNextReadAgain()
    }

    /// A partition taken away.
    mutating func revoked(_ partition: TopicPartition) {
        self.partitions[partition] = nil
        self.scheduleNextReadAgain()
    }

    /// Every partition taken away (a new manual assignment replaces them all).
    mutating func revokeAll() {
        self.partitions.removeAll()
        self.nextReadAgain = nil
    }

    /// A record received at `offset` of `partition`.
    mutating func received(_ partition: TopicPartition, offset: Int64, now: ContinuousClock.Instant) -> (Verdict, Finding?) {
        guard let delay = self.delay else { return (.deliver, nil) }
        var state = self.partitions[partition] ?? Partition()
        defer { self.partitions[partition] = state }
        if let gap = state.gap {
            // Records fetched before the partition is read again are the first read's: dropped.
            guard gap.readingAgain, offset >= gap.from else { return (.drop, nil) }
            if offset > gap.from, gap.reads < Self.maximumReads {
                let wait = delay * (1 << gap.reads)
                state.gap = (gap.from, gap.past, now + wait, false, gap.reads)
                self.nextReadAgain = min(self.nextReadAgain ?? now + wait, now + wait)
                return (.drop, .suspected(from: gap.from, past: offset))
            }
            state.gap = nil
            state.expected = offset + 1
            return (.deliver, offset == gap.from ? .filled(from: gap.from, past: gap.past) : .kept(from: gap.from, past: offset))
        }
        if let expected = state.expected, offset > expected {
            state.gap = (expected, offset, now + delay, false, 0)
            self.nextReadAgain = min(self.nextReadAgain ?? now + delay, now + delay)
            return (.drop, .suspected(from: expected, past: offset))
        }
        state.expected = offset + 1
        return (.deliver, nil)
    }

    /// The partitions to read again now, each from its offset; each is returned once.
    mutating func readAgain(now: ContinuousClock.Instant) -> [(TopicPartition, Int64)] {
        guard let next = self.nextReadAgain, next <= now else { return [] }
        var due: [(TopicPartition, Int64)] = []
        for (partition, state) in self.partitions {
            guard let gap = state.gap, !gap.readingAgain, gap.readAgainAt <= now else { continue }
            self.partitions[partition]?.gap?.readingAgain = true
            self.partitions[partition]?.gap?.reads += 1
            due.append((partition, gap.from))
        }
        self.scheduleNextReadAgain()
        return due
    }

    /// A read again that could not be started: tried once more after ``delay``, not counted.
    mutating func readAgainFailed(_ partition: TopicPartition, now: ContinuousClock.Instant) {
        guard let delay = self.delay, self.partitions[partition]?.gap != nil else { return }
        self.partitions[partition]?.gap?.readingAgain = false
        self.partitions[partition]?.gap?.reads -= 1
        self.partitions[partition]?.gap?.readAgainAt = now + delay
        self.scheduleNextReadAgain()
    }

    private mutating func scheduleNextReadAgain() {
        self.nextReadAgain = self.partitions.values.compactMap { state in
            state.gap.flatMap { $0.readingAgain ? nil : $0.readAgainAt }
        }.min()
    }
}
