import Foundation
import HooklineKafka

/// Takes ``LagSnapshot``s of a cluster through its admin API.
///
/// End offsets are read at `read_committed`, the level Hookline's consumers read at (see
/// `KafkaConsumerConfiguration.isolationLevel`): the end a consumer can actually reach is the last
/// stable offset, so an open transaction never shows as lag the consumer could not remove.
/// Without transactional producers (Hookline's are idempotent, not transactional) it equals the
/// high watermark.
package struct LagReader: Sendable {
    /// The isolation level end offsets are read at.
    package static let isolationLevel: KafkaIsolationLevel = .readCommitted

    /// Prefixes of the groups the `hookline` CLI uses for itself, left out of a full snapshot:
    /// `hookline-dlq-redrive-<service>` records how far `hookline dlq redrive` got and has no
    /// members between redrives, so it would read STOPPED as soon as new dead letters arrive (they
    /// show as the end offsets of the `<prefix>.dlq.<service>` topics instead);
    /// `hookline-cli-*` were throwaway groups of one command, in versions that read a topic by
    /// joining a group (``KafkaRangeReader`` reads by assignment and registers none).
    package static let toolingGroupPrefixes = ["hookline-dlq-redrive-", "hookline-cli-"]

    /// Whether a group is one of the CLI's own (``toolingGroupPrefixes``): not judged unless asked for by name.
    package static func isToolingGroup(_ group: String) -> Bool {
        self.toolingGroupPrefixes.contains { group.hasPrefix($0) }
    }

    package let admin: KafkaAdmin

    package init(admin: KafkaAdmin) {
        self.admin = admin
    }

    /// Reads every group the cluster lists (but the CLI's own, see ``isToolingGroup(_:)``), plus
    /// `knownGroups`, or only `group` (whatever its name); and every topic.
    ///
    /// Some brokers (the embedded one) list only groups that have committed; a group named in
    /// `knownGroups` or `group` is described even when unlisted, and kept when it has members.
    /// One of `knownGroups` that is neither listed nor has members is named in
    /// ``LagSnapshot/absentGroups``: its service is not running, has not joined yet (it joins once one of its topics exists), or has never committed.
    ///
    /// A group that cannot be read (its coordinator unavailable) is named in
    /// ``LagSnapshot/unreadableGroups`` and the others are still read; asked for alone
    /// (`group`), it fails the snapshot.
    package func snapshot(group onlyGroup: String? = nil, knownGroups: [String] = []) async throws(KafkaError) -> LagSnapshot {
        let topics = try await self.topics()
        let takenAt = Date()
        var ends: [TopicPartition: Int64] = [:]
        for topic in topics {
            for (partition, end) in topic.ends { ends[TopicPartition(topic: topic.topic, partition: partition)] = end }
        }
        let partitionsByTopic = Dictionary(uniqueKeysWithValues: topics.map { ($0.topic, Array($0.ends.keys)) })

        let listed = try await self.admin.listConsumerGroups().map(\.groupID)
        let wanted = onlyGroup.map { [$0] } ?? listed.filter { !Self.isToolingGroup($0) }
        let listedWanted = wanted.filter(listed.contains)
        var described: [String: KafkaAdmin.ConsumerGroupDescription] = [:]
        var unreadableGroups: [String: String] = [:]
        for (groupID, result) in try await self.admin.describeConsumerGroupsOfEach(listedWanted) {
            switch result {
            case .success(let description): described[groupID] = description
            case .failure(let error):
                if onlyGroup != nil { throw error }
                unreadableGroups[groupID] = Self.reason(error)
            }
        }
        let configured = onlyGroup == nil ? Set(knownGroups) : []
        var unlisted = Set(wanted).union(configured).subtracting(listed)
        var absentGroups: [String] = []
        for group in unlisted {
            // An unknown group may be an error on some brokers: then it is simply not there.
            if let description = try? await self.admin.describeConsumerGroups([group]).first, !description.members.isEmpty {
                described[group] = description
            } else {
                unlisted.remove(group)
                if configured.contains(group) { absentGroups.append(group) }
            }
        }

        let readable = (listedWanted + unlisted).filter { unreadableGroups[$0] == nil }
        var groups: [GroupOffsets] = []
        for groupID in readable.sorted() {
            let committed: [TopicPartition: Int64]
            do {
                committed = try await self.admin.committedOffsets(group: groupID)
            } catch {
                if onlyGroup != nil { throw error }
                unreadableGroups[groupID] = Self.reason(error)
                continue
            }
            let description = described[groupID]
            // Every partition of each topic the group committed to (a partition it never
            // committed shows as "no commit"), and whatever its members are assigned.
            var partitions = Set(committed.keys.map(\.topic)).flatMap { topic in
                (partitionsByTopic[topic] ?? []).map { TopicPartition(topic: topic, partition: $0) }
            }
            partitions += description?.members.flatMap(\.assignment) ?? []
            let rows = Set(partitions).compactMap { partition -> PartitionOffsets? in
                // A topic deleted since the commit has no end: nothing to measure against.
                guard let end = ends[partition] else { return nil }
                return PartitionOffsets(topic: partition.topic, partition: partition.partition, committed: committed[partition], end: end)
            }
            groups.append(
                GroupOffsets(
                    groupID: groupID,
                    state: description?.state ?? "Unknown",
                    members: description?.members.count ?? 0,
                    partitions: rows.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
                )
            )
        }

        return LagSnapshot(takenAt: takenAt, groups: groups, topics: topics, unreadableGroups: unreadableGroups, absentGroups: absentGroups.sorted())
    }

    /// Why something could not be read, in librdkafka's words and code.
    static func reason(_ error: KafkaError) -> String {
        "\(error.message) (\(error.code.name))"
    }

    /// Every topic with the end offset of each partition. A partition whose end cannot be read
    /// (its leader is down) is named in ``TopicOffsets/unreadable`` and the rest of the cluster is
    /// still measured: one lost broker must not blind the monitor to every other group.
    package func topics() async throws(KafkaError) -> [TopicOffsets] {
        let topics = try await self.admin.listTopics()
        let partitions = topics.flatMap(\.topicPartitions)
        let ends = try await self.admin.listOffsetsOfEach(partitions, .latest, isolationLevel: Self.isolationLevel)
        return topics.map { topic in
            var offsets = TopicOffsets(topic: topic.name, ends: [:])
            for partition in topic.partitions {
                switch ends[TopicPartition(topic: topic.name, partition: partition)] {
                case .success(let end): offsets.ends[partition] = end
                case .failure(let error): offsets.unreadable[partition] = Self.reason(error)
                case nil: offsets.unreadable[partition] = "no answer for this partition"
                }
            }
            return offsets
        }
    }
}
