import Foundation

/// One look at the cluster: every consumer group's committed offsets against the end of each
/// partition it reads, and every topic's end offsets. Taken by ``LagReader``.
package struct LagSnapshot: Sendable, Hashable {
    package var takenAt: Date
    package var groups: [GroupOffsets]
    package var topics: [TopicOffsets]
    /// Groups that could not be read this time (their coordinator unavailable), with why; they
    /// are not in `groups`.
    package var unreadableGroups: [String: String]
    /// Configured groups (``LagReader/snapshot(group:knownGroups:)``'s `knownGroups`) that the
    /// cluster neither lists nor knows a member of: a configured service that has not joined
    /// (not started, or stopped before its first commit). Not in `groups`.
    package var absentGroups: [String]

    package init(
        takenAt: Date, groups: [GroupOffsets], topics: [TopicOffsets], unreadableGroups: [String: String] = [:], absentGroups: [String] = []
    ) {
        self.takenAt = takenAt
        self.groups = groups
        self.topics = topics
        self.unreadableGroups = unreadableGroups
        self.absentGroups = absentGroups
    }
}

/// A consumer group's state and where it stands on each partition it reads.
package struct GroupOffsets: Sendable, Hashable {
    package var groupID: String
    /// `Stable`, `Empty`, `PreparingRebalance`, … as the broker reports it.
    package var state: String
    package var members: Int
    /// Every partition of every topic the group committed to, plus any partition assigned to a
    /// member; sorted by topic and partition.
    package var partitions: [PartitionOffsets]

    package init(groupID: String, state: String, members: Int, partitions: [PartitionOffsets]) {
        self.groupID = groupID
        self.state = state
        self.members = members
        self.partitions = partitions
    }
}

/// A group's position on one partition.
package struct PartitionOffsets: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    /// The next offset the group will read; nil when the group has no commit for this partition.
    package var committed: Int64?
    /// The offset the next record will get (read at ``LagReader/isolationLevel``).
    package var end: Int64

    package init(topic: String, partition: Int32, committed: Int64?, end: Int64) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.end = end
    }

    /// Records written and not yet consumed, never negative (a commit can run ahead of an end
    /// offset read a moment earlier); nil without a commit.
    package var lag: Int64? {
        self.committed.map { max(0, self.end - $0) }
    }
}

/// A topic and the end offset of each of its partitions.
package struct TopicOffsets: Sendable, Hashable {
    package var topic: String
    /// End offsets by partition, in partition order.
    package var ends: [Int32: Int64]
    /// Partitions whose end offset could not be read this time (a leader down), with why; they
    /// are in no group's rows either.
    package var unreadable: [Int32: String]

    package init(topic: String, ends: [Int32: Int64], unreadable: [Int32: String] = [:]) {
        self.topic = topic
        self.ends = ends
        self.unreadable = unreadable
    }

    /// Records ever written to the topic (the sum of its end offsets).
    package var totalEnd: Int64 { self.ends.values.reduce(0, +) }
}
