import Foundation
import HooklineKafka
import Logging

/// One record's place in a log.
package struct RecordPosition: Sendable, Hashable {
    package var topicPartition: TopicPartition
    package var offset: Int64

    package init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}

extension LagReport.Partition {
    /// The record the group reads next, while it lags; nil when caught up or never committed.
    var firstUnconsumed: RecordPosition? {
        guard (self.lag ?? 0) > 0, let committed = self.committed else { return nil }
        return RecordPosition(TopicPartition(topic: self.topic, partition: self.partition), offset: committed)
    }
}

extension LagReport {
    /// The first unconsumed record of every lagging partition whose time lag the end-offset
    /// history cannot tell (no history yet, or only a lower bound): its timestamp tells it
    /// exactly, for the price of reading it.
    package var recordsToTime: Set<RecordPosition> {
        Set(self.groups.flatMap { group in
            group.partitions.compactMap { $0.lagSeconds == nil || $0.lagSecondsIsLowerBound ? $0.firstUnconsumed : nil }
        })
    }

    /// Sets the time lag of each lagging partition whose first unconsumed record has a timestamp
    /// (Unix milliseconds) in `timestamps`: the time from that record's timestamp to ``takenAt``,
    /// no longer an estimate. Each group's time lag follows.
    package mutating func applyRecordTimes(_ timestamps: [RecordPosition: Int64]) {
        guard !timestamps.isEmpty else { return }
        for groupIndex in self.groups.indices {
            var changed = false
            for index in self.groups[groupIndex].partitions.indices {
                guard let record = self.groups[groupIndex].partitions[index].firstUnconsumed, let written = timestamps[record] else { continue }
                self.groups[groupIndex].partitions[index].lagSeconds = max(0, self.takenAt.timeIntervalSince1970 - Double(written) / 1000)
                self.groups[groupIndex].partitions[index].lagSecondsIsLowerBound = false
                changed = true
            }
            if changed { self.groups[groupIndex].lagSeconds = self.groups[groupIndex].partitions.compactMap(\.lagSeconds).max() }
        }
    }
}

/// Fills in the time lags the end-offset history cannot tell (``LagReport/recordsToTime``) from
/// the timestamps of the records themselves, read by assignment (``KafkaRangeReader``: no group
/// join, nothing committed). Keeps what it read while it is still asked for, for up to
/// `rereadAfter`: a group stopped behind an old record costs one read a minute, not one a look.
/// Not for ever, since a position names another record once its log is made again (a topic
/// deleted and created, a memory-only broker restarted), and the old one's age would be shown for
/// the new one. A record the log no longer has (deleted by retention) is remembered as such. One
/// that did not come within the timeout does not keep the other partitions' records from being
/// used; it is tried again at the next look (a slow broker, a leader moving), and once it has
/// not come twice in a row (a partition whose log retention emptied, a principal allowed to
/// describe topics but not to read them) it is remembered as not there until `rereadAfter`, so
/// that a look does not wait the timeout out each time.
package struct RecordTimes: Sendable {
    let reader: KafkaRangeReader
    let rereadAfter: Duration
    /// Unix milliseconds by record, nil for a record that is not there to read, and when it was read.
    private var known: [RecordPosition: (timestamp: Int64?, read: ContinuousClock.Instant)] = [:]
    /// Records that did not come within the timeout at the last look they were asked for.
    private var missedOnce: Set<RecordPosition> = []

    /// - Parameters:
    ///   - timeout: how long one look waits for the records; one not read by then leaves its
    ///     partition with the estimate (until `rereadAfter` after it failed twice in a row).
    ///   - rereadAfter: how long a record's timestamp is kept before it is read again.
    package init(kafka: KafkaConfiguration, timeout: Duration = .seconds(10), rereadAfter: Duration = .seconds(60), logger: Logger) {
        self.reader = KafkaRangeReader(kafka: kafka, timeout: timeout, logger: logger)
        self.rereadAfter = rereadAfter
    }

    /// Reads the timestamps `report` needs and is not known yet, and applies them.
    package mutating func fill(_ report: inout LagReport) async {
        let wanted = report.recordsToTime
        let now = ContinuousClock.now
        self.known = self.known.filter { wanted.contains($0.key) && $0.value.read.duration(to: now) < self.rereadAfter }
        self.missedOnce.formIntersection(wanted)
        // One offset per partition per read: two groups lagging on one partition take two.
        var pending = Dictionary(grouping: wanted.filter { self.known[$0] == nil }, by: \.topicPartition).mapValues { $0.map(\.offset).sorted() }
        while !pending.isEmpty {
            let ranges = pending.mapValues { $0[0]..<($0[0] + 1) }
            pending = pending.compactMapValues { $0.count > 1 ? Array($0.dropFirst()) : nil }
            guard let (records, unfinished) = try? await self.reader.readAvailable(ranges) else { continue }
            for (partition, range) in ranges {
                let position = RecordPosition(partition, offset: range.lowerBound)
                if unfinished.contains(partition), self.missedOnce.insert(position).inserted { continue }
                self.missedOnce.remove(position)
                self.known[position] = (nil, now)
            }
            for record in records {
                self.known[RecordPosition(record.topicPartition, offset: record.offset)] = (record.timestamp, now)
            }
        }
        report.applyRecordTimes(self.known.compactMapValues(\.timestamp))
    }
}
