import Foundation

/// One look at the cluster: every consumer group's committed offsets against the end of each
/// partition it reads, and every topic's end offsets. Taken by ``LagReader``.
public struct LagSnapshot: Sendable, Hashable {
    public var takenAt: Date
    public var groups: [GroupOffsets]
    public var topics: [TopicOffsets]
    /// Groups that could not be read this time (their coordinator unavailable), with why; they
    /// are not in `groups`.
    public var unreadableGroups: [String: String]
    /// Configured groups (``LagReader/snapshot(group:knownGroups:)``'s `knownGroups`) that the
    /// cluster neither lists nor knows a member of: a configured service that has not joined
    /// (not started, or stopped before its first commit). Not in `groups`.
    public var absentGroups: [String]

    public init(
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
public struct GroupOffsets: Sendable, Hashable {
    public var groupID: String
    /// `Stable`, `Empty`, `PreparingRebalance`, … as the broker reports it.
    public var state: String
    public var members: Int
    /// Every partition of every topic the group committed to, plus any partition assigned to a
    /// member; sorted by topic and partition.
    public var partitions: [PartitionOffsets]

    public init(groupID: String, state: String, members: Int, partitions: [PartitionOffsets]) {
        self.groupID = groupID
        self.state = state
        self.members = members
        self.partitions = partitions
    }
}

/// A group's position on one partition.
public struct PartitionOffsets: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The next offset the group will read; nil when the group has no commit for this partition.
    public var committed: Int64?
    /// The offset the next record will get (read at ``LagReader/isolationLevel``).
    public var end: Int64

    public init(topic: String, partition: Int32, committed: Int64?, end: Int64) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.end = end
    }

    /// Records written and not yet consumed, never negative (a commit can run ahead of an end
    /// offset read a moment earlier); nil without a commit.
    public var lag: Int64? {
        self.committed.map { max(0, self.end - $0) }
    }
}

/// A topic and the end offset of each of its partitions.
public struct TopicOffsets: Sendable, Hashable {
    public var topic: String
    /// End offsets by partition, in partition order.
    public var ends: [Int32: Int64]
    /// Partitions whose end offset could not be read this time (a leader down), with why; they
    /// are in no group's rows either.
    public var unreadable: [Int32: String]

    public init(topic: String, ends: [Int32: Int64], unreadable: [Int32: String] = [:]) {
        self.topic = topic
        self.ends = ends
        self.unreadable = unreadable
    }

    /// Records ever written to the topic (the sum of its end offsets).
    public var totalEnd: Int64 { self.ends.values.reduce(0, +) }
}
