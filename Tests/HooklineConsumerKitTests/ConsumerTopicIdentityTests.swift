import Foundation
import GRDB
import HooklineKafka
import HooklineTestSupport
import Logging
import Testing

@testable import HooklineConsumerKit

@Suite("Consumer runner: stored offsets and the log they belong to", .serialized, .timeLimit(.minutes(3)))
struct ConsumerTopicIdentityTests {
    @Test("a broker restarted empty: the stored offsets are discarded and the new log is read from its beginning")
    func brokerRestartedEmpty() async throws {
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: broker, directory: directory)
        let old = try await fixture.publish(ids: ids("old", 0..<10))

        let before = RunningConsumer(try fixture.runner())
        try await waitUntil("the old log applied") { try fixture.storedOffsets() == [0: 10] }
        try await before.stop()

        try await broker.restart()
        try await fixture.createTopic()
        // Fewer records than the stored offset: without the rule they would all be skipped.
        let new = try await fixture.publish(ids: ids("new", 0..<3))

        let after = RunningConsumer(try fixture.runner())
        try await waitUntil("the new log applied") { try fixture.effects().count == 13 }
        try await Task.sleep(for: .milliseconds(300))
        try await after.stop()

        #expect(try fixture.effects() == Dictionary(uniqueKeysWithValues: (old + new).map { ($0, 1) }))
        #expect(try fixture.storedOffsets() == [0: 3])
    }

    @Test("a topic deleted and created again that has grown past the stored offset is read from its beginning: its new topic id tells it from the old log")
    func topicRecreatedPastTheStoredOffset() async throws {
        let broker = try await TestKafka.broker()
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: broker, directory: directory)
        let admin = try TestKafka.admin(broker)
        let firstID = try #require(try await admin.topicIDs([fixture.topic])[fixture.topic])
        let old = try await fixture.publish(ids: ids("old", 0..<4))

        let before = RunningConsumer(try fixture.runner())
        try await waitUntil("the old log applied") { try fixture.storedOffsets() == [0: 4] }
        try await before.stop()
        let cluster = try #require(await admin.clusterID())
        // The cluster's id where a binary from before reads it, the topic's beside it.
        #expect(try Self.storedLog(fixture) == [cluster, firstID])

        try await admin.deleteTopics([fixture.topic])
        #expect(try await eventually { try await !fixture.topicExists(admin) }, "the topic was not deleted")
        try await fixture.createTopic()
        let secondID = try #require(try await admin.topicIDs([fixture.topic])[fixture.topic])
        #expect(secondID != firstID)
        // More records than the stored offset: the end alone would keep the old log's offset 4
        // and skip the first four.
        let new = try await fixture.publish(ids: ids("new", 0..<7))

        let after = RunningConsumer(try fixture.runner())
        try await waitUntil("the new log applied") { try fixture.effects().count == 11 }
        try await Task.sleep(for: .milliseconds(300))
        try await after.stop()

        #expect(try fixture.effects() == Dictionary(uniqueKeysWithValues: (old + new).map { ($0, 1) }))
        #expect(try fixture.storedOffsets() == [0: 7])
        #expect(try Self.storedLog(fixture) == [cluster, secondID])
    }

    @Test("stored logs: another cluster's or another topic id's differs; an unknown cluster, or a topic id missing on either side, proves nothing")
    func logIdentities() {
        let id1 = String(repeating: "ab", count: 16), id2 = String(repeating: "cd", count: 16)
        let now = LogIdentities(cluster: "c1", topicIDs: ["t": id1])
        func stored(_ cluster: String, _ topicID: String? = nil) -> ConsumerDatabase.StoredOffset {
            ConsumerDatabase.StoredOffset(nextOffset: 1, cluster: cluster, topicID: topicID)
        }
        #expect(now.differ(stored: stored("c1", id1), topic: "t") == nil)
        #expect(now.differ(stored: stored("c1"), topic: "t") == nil)
        #expect(now.differ(stored: stored("c1", id2), topic: "t") == .topic)
        #expect(now.differ(stored: stored("unknown", id2), topic: "t") == .topic)
        #expect(now.differ(stored: stored("c2", id1), topic: "t") == .cluster)
        #expect(now.differ(stored: stored("c2"), topic: "t") == .cluster)
        #expect(now.differ(stored: stored("unknown"), topic: "t") == nil)
        #expect(now.differ(stored: stored("c1", id2), topic: "u") == nil)
        #expect(LogIdentities(cluster: "unknown").differ(stored: stored("c2"), topic: "t") == nil)
    }

    /// The stored cluster id and topic id of the fixture's partition 0.
    static func storedLog(_ fixture: ConsumerFixture) throws -> [String?] {
        try DatabaseQueue(path: fixture.databasePath).read { db in
            let row = try Row.fetchOne(db, sql: "SELECT topic_identity, topic_id FROM kafka_offsets WHERE topic = ? AND partition = 0", arguments: [fixture.topic])
            return [row?["topic_identity"], row?["topic_id"]]
        }
    }

    @Test("the offsets committed to the group are the database's, or the consumer's position where it is past them (records removed by retention): a quiet partition does not show lag of records that are gone")
    func committedPositionPastTheDatabase() async throws {
        let broker = try await TestKafka.broker()
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: broker, directory: directory)
        try await fixture.publish(ids: ids("x", 0..<5))
        try await fixture.storeOffset(3, identity: PartitionTracker.unknownIdentity)
        let tracker = PartitionTracker(
            database: try ConsumerDatabase(path: fixture.databasePath, service: fixture.service),
            admin: try TestKafka.admin(broker),
            gate: BatchGate(),
            groupID: fixture.group,
            identity: PartitionTracker.unknownIdentity,
            logger: TestKafka.logger
        )
        let partition = TopicPartition(topic: fixture.topic, partition: 0)
        _ = await tracker.partitionsAssigned([partition])
        #expect(try await tracker.storedPositions() == [partition: 3])
        // The embedded broker cannot delete records (DeleteRecords), so the position that a start
        // past removed records gives is set as a batch sets it, without the database.
        tracker.advance([partition: 5])
        #expect(try await tracker.storedPositions() == [partition: 5])
    }

    @Test("when the log cannot be asked for its bounds at an assignment, partitions start at their stored offsets, unchecked, and the others at the group's; the positions committed to the group include both")
    func assignedWhileTheClusterDoesNotAnswer() async throws {
        let broker = try await TestKafka.broker()
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: broker, directory: directory, partitions: 2)
        try await fixture.storeOffset(3, partition: 0, identity: PartitionTracker.unknownIdentity)
        // An admin client whose every request fails: nobody listens on its port.
        let unreachable = KafkaConfiguration(bootstrapServers: "127.0.0.1:\(try freeLoopbackPort())")
        let tracker = PartitionTracker(
            database: try ConsumerDatabase(path: fixture.databasePath, service: fixture.service),
            admin: try KafkaAdmin(configuration: unreachable, requestTimeout: .milliseconds(500), logger: TestKafka.logger),
            gate: BatchGate(),
            groupID: fixture.group,
            identity: PartitionTracker.unknownIdentity,
            logger: TestKafka.logger
        )
        let stored = TopicPartition(topic: fixture.topic, partition: 0)
        let fresh = TopicPartition(topic: fixture.topic, partition: 1)
        #expect(await tracker.partitionsAssigned([stored, fresh]) == [stored: .offset(3)])
        #expect(tracker.holdsPartitions)
        #expect(try await tracker.storedPositions() == [stored: 3])
        // A first batch on the other partition gives it its position, as any batch moves one.
        try await fixture.storeOffset(2, partition: 1, identity: PartitionTracker.unknownIdentity)
        tracker.advance([fresh: 2])
        #expect(try await tracker.storedPositions() == [stored: 3, fresh: 2])
        // Not a partition given up meanwhile.
        await tracker.partitionsRevoked([fresh])
        tracker.advance([fresh: 4])
        #expect(try await tracker.storedPositions() == [stored: 3])
    }

    @Test("a stored offset behind the group's committed one (another instance's database applied the records between) is used, and logged as an error naming both")
    func groupAheadOfTheDatabase() async throws {
        let broker = try await TestKafka.broker()
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: broker, directory: directory, partitions: 2)
        let admin = try TestKafka.admin(broker)
        try await fixture.publish(ids: ids("a", 0..<24))
        let cluster = try #require(await admin.clusterID())
        let behind = TopicPartition(topic: fixture.topic, partition: 0)
        let level = TopicPartition(topic: fixture.topic, partition: 1)
        let ends = try await admin.listOffsets([behind, level], .latest, isolationLevel: .readUncommitted)
        try #require(ends.values.allSatisfy { $0 >= 5 }, "\(ends)")
        try await fixture.storeOffset(2, partition: 0, identity: cluster)
        try await fixture.storeOffset(1, partition: 1, identity: cluster)
        // The group committed past this database on partition 0, as another instance with its own
        // database would have; on partition 1 it is where this database is.
        try await admin.alterCommittedOffsets(group: fixture.group, offsets: [behind: 5, level: 1])
        let logs = LogRecords()
        let tracker = PartitionTracker(
            database: try ConsumerDatabase(path: fixture.databasePath, service: fixture.service),
            admin: admin,
            gate: BatchGate(),
            groupID: fixture.group,
            identity: cluster,
            logger: logs.logger()
        )
        #expect(await tracker.partitionsAssigned([behind, level]) == [behind: .offset(2), level: .offset(1)])
        let errors = logs.all.filter { $0.level == .error }
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.message.contains("the group's committed offset is ahead of this database's") && error.message.contains("share one database file"))
        #expect(error.metadata["kafka.stored_offset"] == "2" && error.metadata["kafka.committed_offset"] == "5")
        #expect(error.metadata["kafka.partition"] == "\(behind)" && error.metadata["hookline.database"] == fixture.databasePath)
    }

    @Test("stored offsets of another cluster are discarded")
    func anotherCluster() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        let events = try await fixture.publish(ids: ids("x", 0..<5))
        // An offset taken from some other cluster, ahead of this log.
        try await fixture.storeOffset(3, identity: "elsewhere")

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("every event applied") { try fixture.effects().count == 5 }
        try await running.stop()
        #expect(Set(try fixture.effects().keys) == Set(events))
        #expect(try fixture.storedOffsets() == [0: 5])
    }

    @Test("an offset stored while the cluster id could not be read is kept, not taken for another cluster's")
    func unknownClusterKeepsItsOffsets() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        let events = try await fixture.publish(ids: ids("x", 0..<5))
        // The first three were applied by a runner that started while the cluster did not answer.
        try await fixture.storeOffset(3, identity: PartitionTracker.unknownIdentity)

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("the rest applied") { try fixture.storedOffsets() == [0: 5] }
        try await Task.sleep(for: .milliseconds(300))
        try await running.stop()
        #expect(Set(try fixture.effects().keys) == Set(events.suffix(2)))
    }
}
