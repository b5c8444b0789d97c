import Foundation
import HooklineLag

/// A fixed start; `at(t)` is `t` seconds after it.
let start = Date(timeIntervalSince1970: 1_800_000_000)
func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

/// Samples of one partition: (seconds, committed, end).
func history(_ points: [(Double, Int64?, Int64)]) -> [OffsetSample] {
    points.map { OffsetSample(at: at($0.0), committed: $0.1, end: $0.2) }
}

/// A group with rows (topic, partition, committed, end).
func group(_ id: String, members: Int, _ rows: [(String, Int32, Int64?, Int64)]) -> GroupOffsets {
    GroupOffsets(
        groupID: id,
        state: members > 0 ? "Stable" : "Empty",
        members: members,
        partitions: rows.map { PartitionOffsets(topic: $0.0, partition: $0.1, committed: $0.2, end: $0.3) }
    )
}

/// A snapshot at `second` of these groups, the topics made from their rows.
func snapshot(at second: Double, groups: [GroupOffsets]) -> LagSnapshot {
    var ends: [String: [Int32: Int64]] = [:]
    for group in groups {
        for row in group.partitions { ends[row.topic, default: [:]][row.partition] = row.end }
    }
    return LagSnapshot(takenAt: at(second), groups: groups, topics: ends.map { TopicOffsets(topic: $0.key, ends: $0.value) })
}

extension LagSnapshot {
    /// The same look with partition `partition` of every topic left out, its end offset unread
    /// (its leader down), as ``LagReader`` reports it.
    func leavingOut(partition: Int32) -> LagSnapshot {
        var look = self
        for index in look.groups.indices { look.groups[index].partitions.removeAll { $0.partition == partition } }
        look.topics = look.topics.map { topic in
            TopicOffsets(topic: topic.topic, ends: topic.ends.filter { $0.key != partition }, unreadable: [partition: "Broker: Leader not available (LEADER_NOT_AVAILABLE)"])
        }
        return look
    }
}
