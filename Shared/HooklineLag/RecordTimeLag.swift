import Foundation
import HooklineKafka

/// One record's place in a log.
public struct RecordPosition: Sendable, Hashable {
    public var topicPartition: TopicPartition
    public var offset: Int64

    public init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}

extension LagReport {
    /// The first unconsumed record of every lagging partition whose time lag the end-offset
    /// history cannot tell (no history yet, or only a lower bound): its timestamp tells it
    /// exactly, for the price of reading it.
    public var recordsToTime: Set<RecordPosition> {
        var records: Set<RecordPosition> = []
        for group in self.groups {
            for partition in group.partitions where (partition.lag ?? 0) > 0 && (partition.lagSeconds == nil || partition.lagSecondsIsLowerBound) {
                guard let committed = partition.committed else { continue }
                records.insert(RecordPosition(TopicPartition(topic: partition.topic, partition: partition.partition), offset: committed))
            }
        }
        return records
    }

    /// Sets the time lag of each lagging partition whose first unconsumed record has a timestamp
    /// (Unix milliseconds) in `timestamps`: the time from that record's timestamp to ``takenAt``,
    /// no longer an estimate. Each group's time lag follows.
    public mutating func applyRecordTimes(_ timestamps: [RecordPosition: Int64]) {
        guard !timestamps.isEmpty else { return }
        for groupIndex in self.groups.indices {
            var changed = false
            for index in self.groups[groupIndex].partitions.indices {
                let partition = self.groups[groupIndex].partitions[index]
                guard (partition.lag ?? 0) > 0, let committed = partition.committed,
                    let written = timestamps[RecordPosition(TopicPartition(topic: partition.topic, partition: partition.partition), offset: committed)]
                else { continue }
                self.groups[groupIndex].partitions[index].lagSeconds = max(0, self.takenAt.timeIntervalSince1970 - Double(written) / 1000)
                self.groups[groupIndex].partitions[index].lagSecondsIsLowerBound = false
                changed = true
            }
            if changed { self.groups[groupIndex].lagSeconds = self.groups[groupIndex].partitions.compactMap(\.lagSeconds).max() }
        }
    }
}
