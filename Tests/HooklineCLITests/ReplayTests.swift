import Foundation
import HooklineKafka
import HooklineTestSupport
import Testing

@Suite("hookline replay", .serialized, .timeLimit(.minutes(4)))
struct ReplayTests {
    /// Writes `count` keyed records and returns each partition's end offset afterwards.
    func produce(_ broker: EmbeddedBroker, topic: String, count: Int, tag: String) async throws -> [TopicPartition: Int64] {
        let producer = try TestKafka.producer(broker)
        for index in 0..<count {
            _ = try await producer.send(topic: topic, key: Array("key-\(index)".utf8), value: Array("\(tag)-\(index)".utf8))
        }
        await producer.shutdown()
        let partitions = (0..<2).map { TopicPartition(topic: topic, partition: Int32($0)) }
        return try await TestKafka.admin(broker).listOffsets(partitions, .latest, isolationLevel: .readUncommitted)
    }

    func replay(_ broker: EmbeddedBroker, _ arguments: [String]) async throws -> HooklineBinary.Result {
        try await HooklineBinary.run(["replay", "--brokers", broker.bootstrapServers] + arguments)
    }

    @Test("refuses while the group has a member; when stopped moves offsets to-earliest, to-offset and to-time (ISO-8601 and epoch ms)")
    func refusesThenMoves() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("replay")
        let group = TestKafka.uniqueName("replay-group")
        try await admin.createTopics([.init(name: topic, partitions: 2)])
        let p0 = TopicPartition(topic: topic, partition: 0)
        let p1 = TopicPartition(topic: topic, partition: 1)

        let early = try await self.produce(broker, topic: topic, count: 20, tag: "early")
        try #require(early[p0, default: 0] >= 3 && early[p1, default: 0] >= 3, "both partitions need records: \(early)")
        try await Task.sleep(for: .milliseconds(100))
        let between = Date()
        try await Task.sleep(for: .milliseconds(100))
        let end = try await self.produce(broker, topic: topic, count: 20, tag: "late")

        // A member reads everything and commits, and stays in the group.
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), logger: TestKafka.logger)
        try consumer.subscribe(topics: [topic])
        var read: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while read.count < 40, ContinuousClock.now < deadline {
            read += await consumer.nextBatch(timeout: .seconds(1))
        }
        try #require(read.count == 40)
        try await consumer.commit(after: read)
        #expect(try await admin.committedOffsets(group: group) == end)

        let refused = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-earliest"])
        #expect(refused.status == 3, "\(refused)")
        #expect(refused.stderr.contains("1 active member"), "\(refused)")
        #expect(try await admin.committedOffsets(group: group) == end, "a refused replay moved offsets")
        // A dry run shows what the replay would do, and that it would be refused now.
        let preview = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-earliest", "--dry-run"])
        #expect(preview.status == 0 && preview.stdout.contains("partition 1: \(end[p1]!) → 0"), "\(preview)")
        #expect(preview.stdout.contains("Without --dry-run this would be refused now: group \(group) has 1 active member(s)"), "\(preview)")
        #expect(try await admin.committedOffsets(group: group) == end, "a dry run moved offsets")

        await consumer.close()
        try await waitForEmpty(admin, group: group)

        // Dry run: shows, changes nothing.
        let dry = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-earliest", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.json?["dry_run"] as? Bool == true)
        #expect(dry.json?["refused_while_running"] is NSNull, "\(dry)")
        #expect(try await admin.committedOffsets(group: group) == end)

        let earliest = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-earliest", "--json"])
        #expect(earliest.status == 0, "\(earliest)")
        #expect(try await admin.committedOffsets(group: group) == [p0: 0, p1: 0])
        let rows = earliest.json?["partitions"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["old"] as? Int64 } == [end[p0], end[p1]], "\(earliest)")
        #expect(rows.map { $0["new"] as? Int64 } == [0, 0], "\(earliest)")

        let toOffset = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-offset", "2", "--partition", "1"])
        #expect(toOffset.status == 0, "\(toOffset)")
        #expect(toOffset.stdout.contains("partition 1: 0 → 2"), "\(toOffset)")
        #expect(try await admin.committedOffsets(group: group) == [p0: 0, p1: 2])

        let millis = Int64(between.timeIntervalSince1970 * 1000)
        let byEpoch = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-time", String(millis)])
        #expect(byEpoch.status == 0, "\(byEpoch)")
        #expect(try await admin.committedOffsets(group: group) == early)

        _ = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-earliest"])
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let byISO = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-time", formatter.string(from: between)])
        #expect(byISO.status == 0, "\(byISO)")
        #expect(try await admin.committedOffsets(group: group) == early)

        // After the last record: the end.
        let future = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-time", "2999-01-01T00:00:00Z"])
        #expect(future.status == 0, "\(future)")
        #expect(try await admin.committedOffsets(group: group) == end)

        // A group with no offsets is a mistyped name until said otherwise: refused, and not created.
        let fresh = TestKafka.uniqueName("replay-fresh")
        let mistyped = try await self.replay(broker, ["--group", fresh, "--topic", topic, "--to-offset", "1"])
        #expect(mistyped.status == 1, "\(mistyped)")
        #expect(mistyped.stderr.contains("group \(fresh) has no committed offsets") && mistyped.stderr.contains("--create"), "\(mistyped)")
        #expect(try await admin.committedOffsets(group: fresh).isEmpty)
        // With --create, a group that never consumed is positioned before its first start.
        let positioned = try await self.replay(broker, ["--group", fresh, "--topic", topic, "--to-offset", "1", "--create", "--json"])
        #expect(positioned.status == 0, "\(positioned)")
        #expect((positioned.json?["partitions"] as? [[String: Any]])?.allSatisfy { $0["old"] is NSNull } == true, "\(positioned)")
        #expect(try await admin.committedOffsets(group: fresh) == [p0: 1, p1: 1])

        let usage = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-time", "yesterday"])
        #expect(usage.status != 0 && usage.status != 3, "\(usage)")
        // Epoch seconds, where milliseconds are asked for, would replay the whole topic from 1970.
        let seconds = try await self.replay(broker, ["--group", group, "--topic", topic, "--to-time", String(millis / 1000)])
        #expect(seconds.status == 64 && seconds.stderr.contains("looks like epoch seconds"), "\(seconds)")
        #expect(try await admin.committedOffsets(group: group) == end)
    }
}

/// Waits until the group has no members (a closed consumer has left it).
func waitForEmpty(_ admin: KafkaAdmin, group: String) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if let description = try? await admin.describeConsumerGroups([group]).first, description.members.isEmpty { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    Issue.record("group \(group) still has members")
}
