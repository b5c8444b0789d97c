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
/// the new one. A record the log no longer has (deleted by retention), or that did not come within
/// the timeout (a partition whose log retention emptied, a principal allowed to describe topics
/// but not to read them), is remembered as not there for as long, so a look does not wait the
/// timeout out each time; it does not keep the records of the other partitions from being used.
package struct RecordTimes: Sendable {
    let reader: KafkaRangeReader
    let rereadAfter: Duration
    /// Unix milliseconds by record, nil for a record that is not there to read, and when it was read.
    private var known: [RecordPosition: (timestamp: Int64?, read: ContinuousClock.Instant)] = [:]

    /// - Parameters:
    ///   - timeout: how long one look waits for the records; one not read by then (deleted by
    ///     retention, a slow broker) leaves its partition with the estimate until `rereadAfter`.
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
        // One offset per partition per read: two groups lagging on one partition take two.
        var pending = Dictionary(grouping: wanted.filter { self.known[$0] == nil }, by: \.topicPartition).mapValues { $0.map(\.offset).sorted() }
        while !pending.isEmpty {
            let ranges = pending.mapValues { $0[0]..<($0[0] + 1) }
            pending = pending.compactMapValues { $0.count > 1 ? Array($0.dropFirst()) : nil }
            guard let records = try? await self.reader.readAvailable(ranges).records else { continue }
            for (partition, range) in ranges {
                self.known[RecordPosition(partition, offset: range.lowerBound)] = (nil, now)
            }
            for record in records {
                self.known[RecordPosition(record.topicPartition, offset: record.offset)] = (record.timestamp, now)
            }
        }
        report.applyRecordTimes(self.known.compactMapValues(\.timestamp))
    }
}
