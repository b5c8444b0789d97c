import HooklineKafka
import Logging
import Synchronization

/// The runner's rebalance listener: decides where each assigned partition starts, makes a
/// revoke wait for the batch in hand, and knows each partition's position for the lag metric.
///
/// ## Where a partition starts
/// 1. At the database's `next_offset`, when one is stored and still belongs to the current log.
/// 2. Else at the group's committed offset, else at offset 0.
///
/// Each is asked of the broker as an exact offset, never as its "earliest": the embedded broker
/// answers that with the record written first, which is not always the one of the lowest offset
/// when producers write at once, and the records between would be skipped. Where retention has
/// removed the records at the offset asked for, the broker says so and librdkafka starts at the
/// earliest it has (`auto.offset.reset`, logging a warning); the consumer's gap check
/// (``KafkaConsumerConfiguration/offsetGapRecheck``) then reads there once more.
///
/// When the cluster does not answer for the log's bounds at the assignment, the stored offsets
/// are taken unchecked, and the other partitions start at the group's committed offsets.
///
/// ## When stored offsets are discarded
/// A stored offset is tied to its log (``LogIdentities``) by the cluster's id (`topic_identity`)
/// and the topic's id (KIP-516, `topic_id`) where the broker gives one, and checked against the
/// log's current bounds on every assignment. The stored offsets of a whole topic are discarded,
/// and its partitions read from their beginning, when for any of its assigned partitions
/// - the cluster id differs from the one stored (another cluster; an id that could not be read,
///   stored or now, proves nothing and counts as the same), or
/// - the topic id differs from the one stored: the topic was deleted and created again under its
///   name, however far the new log has grown (an id missing, stored or now, proves nothing), or
/// - the stored next offset is beyond the partition's end offset: the log is shorter than what
///   was already processed, so it is a new log (the broker restarted empty, or the topic was
///   deleted and recreated). Because a broker may report a stale end offset for a moment (the
///   embedded one does, right after writes), the end is read a second time after a short pause,
///   and the group's committed offset must agree: a group that committed beyond the end shows the
///   broker knows that progress, so the end is stale and the stored offset stands. (A restarted
///   empty broker and a deleted topic have lost the group's offsets too.)
///
/// A stored offset below the group's committed offset is used, and logged as an error: the kit
/// commits to the group only what its database holds, so another database applied those records
/// (instances of one service with a database file each), this one was restored from a copy, or
/// `hookline replay` moved the group forward (the database's offset wins; docs/cli.md).
///
/// A stored offset below the earliest offset (records removed by retention) starts that
/// partition at its earliest record, as above. On a broker without topic ids, a recreated log that has
/// already grown past the stored offset cannot be told apart from the old one.
final class PartitionTracker: KafkaRebalanceListener {
    private let database: ConsumerDatabase
    private let admin: KafkaAdmin
    private let gate: BatchGate
    private let groupID: String
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var identities: LogIdentities
        /// The next offset this consumer will process, per assigned partition.
        var positions: [TopicPartition: Int64] = [:]
        /// The partitions assigned now, whether or not their start could be checked.
        var held: Set<TopicPartition> = []
    }

    init(database: ConsumerDatabase, admin: KafkaAdmin, gate: BatchGate, groupID: String, identity: String, logger: Logger) {
        self.database = database
        self.admin = admin
        self.gate = gate
        self.groupID = groupID
        self.logger = logger
        self.state = Mutex(State(identities: LogIdentities(cluster: identity)))
    }

    /// What the offsets stored for each topic are tied to.
    var identities: LogIdentities { self.state.withLock { $0.identities } }

    /// The identity when the cluster id could not be read. It proves nothing either way: an offset
    /// stored under it, or checked while it is all there is, is taken for the current log's (a
    /// cluster that did not answer once must not make the service forget where it was).
    static let unknownIdentity = "unknown"

    /// Whether the group assigned this consumer any partition now. An assignment may be empty:
    /// more instances than partitions, or no topic of the subscription yet.
    var holdsPartitions: Bool { self.state.withLock { !$0.held.isEmpty } }

    /// The positions of the partitions currently assigned.
    var positions: [TopicPartition: Int64] { self.state.withLock { $0.positions } }

    /// Where the partitions this instance holds stand: the database's next offsets, or this
    /// consumer's position where it is past them, what the group's committed offsets should be (a
    /// partition with no row yet has none). A position is past the database's only when the
    /// records after the stored offset were removed by retention: the consumer starts at the
    /// earliest record, and the database moves only when a record is applied. Committed as
    /// stored, a quiet partition would show lag of records that no longer exist, STALLED, for as
    /// long as nothing new arrived on it.
    func storedPositions() async throws -> [TopicPartition: Int64] {
        let positions = self.positions
        guard !positions.isEmpty else { return [:] }
        return try await self.database.offsets(Array(positions.keys)).reduce(into: [:]) { result, row in
            result[row.key] = max(row.value.nextOffset, positions[row.key] ?? row.value.nextOffset)
        }
    }

    /// Records what a committed batch moved, for the partitions still held: also the first
    /// position of one whose start could not be checked (``partitionsAssigned(_:)``).
    func advance(_ offsets: [TopicPartition: Int64]) {
        self.state.withLock { state in
            for (partition, next) in offsets where state.held.contains(partition) {
                state.positions[partition] = max(state.positions[partition] ?? next, next)
            }
        }
    }

    // MARK: - KafkaRebalanceListener

    func partitionsAssigned(_ partitions: [TopicPartition]) async -> [TopicPartition: KafkaStartOffset] {
        self.gate.assigned(partitions)
        do {
            let (starts, positions) = try await self.startOffsets(partitions)
            self.state.withLock { state in
                state.positions.merge(positions) { _, new in new }
                state.held.formUnion(partitions)
            }
            return starts
        } catch {
            // Without the log's bounds the stored offsets cannot be checked against it (another
            // cluster, a recreated log), only taken as they are: the database is where processing
            // stands. A partition without one starts at the group's committed offset, which never
            // runs ahead of the database's (it is committed after it), and gets its position from
            // its first batch.
            let stored = (try? await self.database.offsets(partitions)) ?? [:]
            self.logger.error(
                "cannot check stored offsets against the log; starting from them unchecked, else from the group's committed offsets",
                metadata: ["error": "\(error)", "kafka.stored_partitions": "\(stored.count)"]
            )
            self.state.withLock { state in
                state.positions.merge(stored.mapValues(\.nextOffset)) { _, new in new }
                state.held.formUnion(partitions)
            }
            return stored.mapValues { .offset($0.nextOffset) }
        }
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) async {
        await self.gate.revoke(partitions)
        self.state.withLock { state in
            for partition in partitions { state.positions[partition] = nil }
            state.held.subtract(partitions)
        }
    }

    private func startOffsets(
        _ partitions: [TopicPartition]
    ) async throws -> (starts: [TopicPartition: KafkaStartOffset], positions: [TopicPartition: Int64]) {
        let cluster = await self.admin.clusterID()
        let topics = Set(partitions.map(\.topic))
        var topicIDs: [String: String] = [:]
        do {
            topicIDs = try await self.admin.topicIDs(Array(topics))
        } catch {
            // The cluster id alone then ties these topics' offsets to their logs.
            self.logger.warning("cannot read the topics' ids; a topic created again under its name is told only by its end", metadata: ["error": "\(error)"])
        }
        let identities = self.state.withLock { state in
            if let cluster { state.identities.cluster = cluster }
            // Exactly what the cluster says now of the topics assigned: an id it no longer gives
            // must not be written with the new log's offsets.
            for topic in topics { state.identities.topicIDs[topic] = topicIDs[topic] }
            return state.identities
        }
        let stored = try await self.database.offsets(partitions)
        let earliest = try await self.admin.listOffsets(partitions, .earliest, isolationLevel: .readUncommitted)
        let latest = try await self.admin.listOffsets(partitions, .latest, isolationLevel: .readUncommitted)

        var committed: [TopicPartition: Int64] = [:]
        var beyondEnd = stored.filter { partition, offset in
            identities.differ(stored: offset, topic: partition.topic) == nil && offset.nextOffset > latest[partition] ?? .max
        }
        if !beyondEnd.isEmpty {
            committed = try await self.admin.committedOffsets(group: self.groupID)
            try? await Task.sleep(for: .milliseconds(500))
            let again = try await self.admin.listOffsets(Array(beyondEnd.keys), .latest, isolationLevel: .readUncommitted)
            beyondEnd = beyondEnd.filter { partition, offset in
                let end = max(latest[partition] ?? .max, again[partition] ?? .max)
                return offset.nextOffset > end && (committed[partition] ?? 0) <= end
            }
        }
        var newLogs: Set<String> = []
        for (partition, offset) in stored {
            if let difference = identities.differ(stored: offset, topic: partition.topic) {
                self.logger.warning(
                    difference == .cluster
                        ? "stored offsets belong to another cluster; reading the topic from its beginning"
                        : "stored offsets belong to an earlier topic of this name (deleted and created again); reading the topic from its beginning",
                    metadata: [
                        "kafka.topic": "\(partition.topic)", "kafka.cluster": "\(identities.cluster)", "kafka.stored_cluster": "\(offset.cluster)",
                        "kafka.topic_id": "\(identities.topicIDs[partition.topic] ?? "-")", "kafka.stored_topic_id": "\(offset.topicID ?? "-")",
                    ]
                )
                newLogs.insert(partition.topic)
            } else if beyondEnd[partition] != nil {
                self.logger.warning(
                    "stored offset is beyond the end of the log, which was recreated; reading the topic from its beginning",
                    metadata: ["kafka.partition": "\(partition)", "kafka.stored_offset": "\(offset.nextOffset)", "kafka.end_offset": "\(latest[partition] ?? -1)"]
                )
                newLogs.insert(partition.topic)
            }
        }
        if committed.isEmpty, stored.count < partitions.count {
            committed = try await self.admin.committedOffsets(group: self.groupID)
        } else if committed.isEmpty {
            // Only for telling whether the group is ahead of the database: not worth the checks
            // above when the coordinator does not answer.
            committed = (try? await self.admin.committedOffsets(group: self.groupID)) ?? [:]
        }
        // Last, after every call that can fail: a failure leaves the rows for the unchecked start
        // of ``partitionsAssigned(_:)``, where without them these partitions would start at the
        // group's committed offsets, which are the earlier log's.
        try await self.database.discardOffsets(topics: newLogs)
        var starts: [TopicPartition: KafkaStartOffset] = [:]
        var positions: [TopicPartition: Int64] = [:]
        for partition in partitions {
            let first = earliest[partition] ?? 0
            if newLogs.contains(partition.topic) {
                starts[partition] = .offset(0)
                positions[partition] = first
            } else if let offset = stored[partition] {
                if offset.nextOffset < first {
                    self.logger.warning(
                        "records after the stored offset were removed by retention; starting at the earliest record",
                        metadata: ["kafka.partition": "\(partition)", "kafka.stored_offset": "\(offset.nextOffset)", "kafka.earliest_offset": "\(first)"]
                    )
                }
                if let groupNext = committed[partition], groupNext > max(offset.nextOffset, first) {
                    // The kit commits to the group only what its database has committed, so with
                    // one database per service the group is never ahead of it.
                    self.logger.error(
                        """
                        the group's committed offset is ahead of this database's: another instance applied those records to \
                        another database (instances of a service must share one database file), this database was restored \
                        from an older copy, or hookline replay moved the group forward; they are applied here again
                        """,
                        metadata: [
                            "kafka.partition": "\(partition)", "kafka.stored_offset": "\(offset.nextOffset)",
                            "kafka.committed_offset": "\(groupNext)", "hookline.database": "\(self.database.path)",
                        ]
                    )
                }
                starts[partition] = .offset(offset.nextOffset)
                positions[partition] = max(offset.nextOffset, first)
            } else {
                starts[partition] = .offset(max(committed[partition] ?? 0, 0))
                positions[partition] = min(max(committed[partition] ?? first, first), latest[partition] ?? .max)
            }
        }
        self.logger.info("partitions start", metadata: ["kafka.starts": "\(starts)"])
        return (starts, positions)
    }

    /// End offset − next offset per assigned partition.
    func lag() async throws -> [TopicPartition: Int64] {
        let positions = self.positions
        guard !positions.isEmpty else { return [:] }
        let latest = try await self.admin.listOffsets(Array(positions.keys), .latest, isolationLevel: .readUncommitted)
        var lag: [TopicPartition: Int64] = [:]
        for (partition, next) in positions {
            if let end = latest[partition] { lag[partition] = end - next }
        }
        return lag
    }
}

/// What the offsets stored for each topic are tied to: the cluster's id, and the topic's id where
/// the broker gives one.
struct LogIdentities: Sendable, Equatable {
    var cluster: String
    /// Topic ids as 32 hex digits (``KafkaAdmin/topicIDs(_:)``), of the topics assigned.
    var topicIDs: [String: String] = [:]

    enum Difference: Equatable {
        /// Another cluster's.
        case cluster
        /// This cluster's topic of the same name before it was deleted and created again.
        case topic
    }

    /// How the log an offset was stored for differs from `topic`'s now; nil when it is the same,
    /// or nothing proves otherwise (an unknown cluster, a topic id missing on either side).
    func differ(stored: ConsumerDatabase.StoredOffset, topic: String) -> Difference? {
        let unknown = PartitionTracker.unknownIdentity
        if stored.cluster != self.cluster, stored.cluster != unknown, self.cluster != unknown { return .cluster }
        if let storedID = stored.topicID, let current = self.topicIDs[topic], storedID != current { return .topic }
        return nil
    }
}
