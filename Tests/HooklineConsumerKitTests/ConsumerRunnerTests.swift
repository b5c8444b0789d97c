import Foundation
import GRDB
import HooklineKafka
import HooklineTestSupport
import Testing

@testable import HooklineConsumerKit

@Suite("Consumer runner: exactly-once effects", .serialized, .timeLimit(.minutes(3)))
struct ConsumerRunnerTests {
    @Test("a second delivery of the same ce_id is skipped and counted, not applied")
    func duplicateDeliveryAppliesOnce() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        let unique = ids("order", 0..<10)
        // Every event twice, the second copies after all the first ones, and one twice in a row.
        try await fixture.publish(ids: unique + unique + ["order-3"])

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("21 records settled") {
            metric(running.runner, "events_applied_total") + metric(running.runner, "duplicates_skipped_total") >= 21
        }
        try await running.stop()

        #expect(try fixture.effects() == Dictionary(uniqueKeysWithValues: unique.map { ($0, 1) }))
        #expect(metric(running.runner, "events_applied_total") == 10)
        #expect(metric(running.runner, "duplicates_skipped_total") == 11)
        #expect(try fixture.storedOffsets() == [0: 21])
    }

    @Test("processed ids are pruned once older than dedup retention: a redelivery inside the window is skipped, one after the pruning applied again")
    func pruningEndsTheDedupWindow() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        try await fixture.publish(ids: ["early", "late", "early"])
        let first = RunningConsumer(try fixture.runner())
        try await waitUntil("3 records settled") { try fixture.storedOffsets() == [0: 3] }
        try await first.stop()
        #expect(metric(first.runner, "duplicates_skipped_total") == 1)
        #expect(try fixture.processedIDs() == ["early", "late"])

        // The same database under a retention of 1 s, pruned at start and every 200 ms
        // (which ids a prune keeps by age: ConsumerDatabaseTests).
        var configuration = fixture.configuration()
        configuration.dedupRetention = .seconds(1)
        configuration.pruneInterval = .milliseconds(200)
        let second = RunningConsumer(try fixture.runner(configuration))
        try await waitUntil("the ids pruned", timeout: .seconds(15)) { try fixture.processedIDs().isEmpty }
        try await fixture.publish(ids: ["early"])
        try await waitUntil("the redelivery settled") { try fixture.storedOffsets() == [0: 4] }
        try await second.stop()

        #expect(metric(second.runner, "duplicates_skipped_total") == 0)
        #expect(metric(second.runner, "events_applied_total") == 1)
        #expect(try fixture.effects() == ["early": 2, "late": 1])
    }

    @Test("an id is the provider's, unique within its source: one ce_id from two sources is two events, from one source twice is one")
    func duplicatesAreKeyedBySourceAndID() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        // Two generic HMAC endpoints that number their orders the same way.
        try await fixture.publish(ids: ["42"], source: "/webhooks/shop-a")
        try await fixture.publish(ids: ["42"], source: "/webhooks/shop-b")
        try await fixture.publish(ids: ["42"], source: "/webhooks/shop-a")

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("3 records settled") {
            metric(running.runner, "events_applied_total") + metric(running.runner, "duplicates_skipped_total") >= 3
        }
        try await running.stop()
        #expect(try fixture.effects() == ["42": 2])
        #expect(metric(running.runner, "events_applied_total") == 2)
        #expect(metric(running.runner, "duplicates_skipped_total") == 1)
    }

    @Test("a database from before the dedupe by source keeps its applied ids: a redelivery of one is still a duplicate, from any source")
    func idsAppliedBeforeTheUpgradeStayDuplicates() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        // The kit's first schema, as a service left it, with one event applied.
        let before = try DatabaseQueue(path: fixture.databasePath)
        try await before.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations (identifier) VALUES ('hookline.consumer-kit.v1');
                    CREATE TABLE kafka_offsets (
                        topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                        topic_identity TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (topic, partition)
                    );
                    CREATE TABLE processed_events (event_id TEXT PRIMARY KEY NOT NULL, processed_at REAL NOT NULL) WITHOUT ROWID;
                    CREATE INDEX processed_events_processed_at ON processed_events(processed_at);
                    INSERT INTO processed_events (event_id, processed_at) VALUES ('applied-before', ?);
                    """,
                arguments: [Date().timeIntervalSince1970]
            )
        }
        try before.close()
        try await fixture.publish(ids: ["applied-before", "new-after"], source: "/webhooks/shop")

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("2 records settled") {
            metric(running.runner, "events_applied_total") + metric(running.runner, "duplicates_skipped_total") >= 2
        }
        try await running.stop()
        #expect(try fixture.effects() == ["new-after": 1])
        #expect(metric(running.runner, "duplicates_skipped_total") == 1)
        let rows = try await DatabaseQueue(path: fixture.databasePath).read { db in
            try Row.fetchAll(db, sql: "SELECT event_source, event_id FROM processed_events ORDER BY event_id").map { "\($0["event_source"] as String) \($0["event_id"] as String)" }
        }
        #expect(rows == ["* applied-before", "/webhooks/shop new-after"])
    }

    @Test("a runner stopped mid-stream and restarted resumes at the database's offsets")
    func gracefulStopResumesExactly() async throws {
        let directory = try TemporaryDirectory()
        var fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, partitions: 3)
        fixture.service.handlers = ["test.recorded": RecordingHandler(delay: .milliseconds(10))]
        let first = try await fixture.publish(ids: ids("a", 0..<300), concurrently: true)

        let running = RunningConsumer(try fixture.runner(batchSize: 20))
        try await waitUntil("some events applied") { metric(running.runner, "events_applied_total") >= 60 }
        try await running.stop()
        let appliedBeforeStop = try fixture.effects().count
        #expect(appliedBeforeStop < 300, "the stop should land mid-stream")
        // After the stop the group's committed offsets equal the database's.
        let committed = try await TestKafka.admin(fixture.broker).committedOffsets(group: fixture.group)
        #expect(committed.reduce(into: [Int32: Int64]()) { $0[$1.key.partition] = $1.value } == (try fixture.storedOffsets()))

        let second = try await fixture.publish(ids: ids("b", 0..<100))
        let restarted = RunningConsumer(try fixture.runner(batchSize: 20))
        try await waitUntil("every event applied") { try fixture.effects().count == 400 }
        try await Task.sleep(for: .milliseconds(500))
        try await restarted.stop()

        let effects = try fixture.effects()
        #expect(Set(effects.keys) == Set(first + second))
        #expect(effects.values.allSatisfy { $0 == 1 })
        // Resumed exactly: nothing was even delivered twice to the handler path.
        #expect(metric(restarted.runner, "duplicates_skipped_total") == 0)
        #expect(metric(restarted.runner, "already_applied_total") == 0)
        #expect(Int(metric(restarted.runner, "events_applied_total")) == 400 - appliedBeforeStop)
    }

    @Test("a group offset left behind the database's (a crash between the two commits) is brought up to it while the service runs, with no new record")
    func groupOffsetCatchesUpWithTheDatabase() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, partitions: 1)
        let admin = try TestKafka.admin(fixture.broker)
        try await fixture.publish(ids: ids("a", 0..<20))
        let first = RunningConsumer(try fixture.runner())
        try await waitUntil("the first 20 applied") { try fixture.effects().count == 20 }
        try await first.stop()

        // Applied and stored, but never committed to the group: as if the process died between the two.
        try await fixture.publish(ids: ids("b", 0..<10))
        let crashing = RunningConsumer(try fixture.runner(commitsToKafka: false))
        try await waitUntil("the next 10 applied") { try fixture.effects().count == 30 }
        try await crashing.stop()
        #expect(try fixture.storedOffsets() == [0: 30])
        #expect(try await admin.committedOffsets(group: fixture.group).values.first == 20)

        // Caught up by its database, and nothing new arrives: the group's offset still follows.
        let restarted = RunningConsumer(try fixture.runner())
        try await restarted.waitUntilReady()
        let caughtUp = try await eventually(timeout: .seconds(15)) {
            try await admin.committedOffsets(group: fixture.group).values.first == 30
        }
        #expect(caughtUp, "the group's offset stayed behind the database's")
        #expect(try fixture.effects().count == 30)
        try await restarted.stop()
    }

    @Test("the WAL is checkpointed beside the batches: the database file alone holds the effects")
    func walCheckpointedInTheBackground() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory)
        let published = try await fixture.publish(ids: ids("w", 0..<200), concurrently: true)
        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("every event applied") { try fixture.effects().count == 200 }

        // A few hundred pages at most: far below the writer's own checkpoint threshold, so only
        // the background checkpoint can have copied them into the database file. A copy of the
        // file without its WAL shows what it holds.
        let copy = directory.path("main-file-only.sqlite")
        try await waitUntil("the effects are in the database file", timeout: .seconds(10)) {
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: fixture.databasePath, toPath: copy)
            let queue = try DatabaseQueue(path: copy)
            defer { try? queue.close() }
            // Before any checkpoint the file may not even hold the table yet.
            return (try? queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM effects") }) == published.count
        }
        try await running.stop()
    }

    @Test("a crash between the database commit and Kafka's: the database's offsets win on restart")
    func crashBeforeKafkaCommit() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, partitions: 2)
        let first = try await fixture.publish(ids: ids("c", 0..<120))

        // This runner never commits to Kafka, as if it died right after each database commit.
        let crashing = RunningConsumer(try fixture.runner(commitsToKafka: false))
        try await waitUntil("the first events applied") { try fixture.effects().count == 120 }
        try await crashing.stop()
        let admin = try TestKafka.admin(fixture.broker)
        #expect(try await admin.committedOffsets(group: fixture.group).isEmpty, "the group must know nothing, or this proves nothing")
        #expect(try fixture.storedOffsets().values.reduce(0, +) == 120)

        let second = try await fixture.publish(ids: ids("d", 0..<30))
        let restarted = RunningConsumer(try fixture.runner())
        try await waitUntil("the new events applied") { try fixture.effects().count == 150 }
        try await Task.sleep(for: .milliseconds(500))
        try await restarted.stop()

        let effects = try fixture.effects()
        #expect(Set(effects.keys) == Set(first + second))
        #expect(effects.values.allSatisfy { $0 == 1 })
        // Started at the stored offsets: the old records were not even read again.
        #expect(metric(restarted.runner, "duplicates_skipped_total") == 0)
        #expect(metric(restarted.runner, "already_applied_total") == 0)
        #expect(metric(restarted.runner, "events_applied_total") == 30)
        #expect(try await admin.committedOffsets(group: fixture.group).values.reduce(0, +) == 150)
    }

    @Test("two runners in one group split the partitions; one leaves mid-stream; every effect once")
    func twoRunnersShareAndOneLeaves() async throws {
        let directory = try TemporaryDirectory()
        var fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, partitions: 4)
        fixture.service.handlers = ["test.recorded": RecordingHandler(delay: .milliseconds(10))]

        let one = RunningConsumer(try fixture.runner(batchSize: 20))
        let two = RunningConsumer(try fixture.runner(batchSize: 20))
        try await waitUntil("the partitions are split between both") {
            one.runner.assignedPartitions.count == 2 && two.runner.assignedPartitions.count == 2
        }
        #expect(Set(one.runner.assignedPartitions).isDisjoint(with: two.runner.assignedPartitions))

        let first = try await fixture.publish(ids: ids("e", 0..<600), concurrently: true)
        // Both write to one file, so their batches take turns at its write lock, and not
        // fairly: the second may be well ahead of the first. Stop it as soon as it is running.
        try await waitUntil("the second applied some") { metric(two.runner, "events_applied_total") >= 40 }
        let twosPartitions = Set(two.runner.assignedPartitions.map(\.partition))
        try await two.stop()

        let second = try await fixture.publish(ids: ids("f", 0..<100), concurrently: true)
        try await waitUntil("every event applied") { try fixture.effects().count == 700 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(one.runner.assignedPartitions.count == 4)
        try await one.stop()

        let effects = try fixture.effects()
        #expect(Set(effects.keys) == Set(first + second))
        #expect(effects.values.allSatisfy { $0 == 1 })
        #expect(try fixture.storedOffsets().values.reduce(0, +) == 700)
        // The second runner left before its share of the first stream was done (at 10 ms an event it
        // needs seconds for it), so the first took its partitions over mid-stream. Measured from
        // what each runner applied, not from a clock: the takeover itself may be quick or slow.
        let firstIDs = Set(first)
        let firstOnTwosPartitions = try fixture.effectRows().filter { firstIDs.contains($0.id) && twosPartitions.contains($0.partition) }.count
        #expect(Int(metric(two.runner, "events_applied_total")) < firstOnTwosPartitions, "the second runner should leave mid-stream")
        // Each rebalance waited for the batch in hand: no record was even read twice.
        for runner in [one.runner, two.runner] {
            #expect(metric(runner, "already_applied_total") == 0)
            #expect(metric(runner, "duplicates_skipped_total") == 0)
        }
    }

    @Test("ready means holding partitions: of two runners on a one-partition topic only the holder is ready; the other becomes ready when it takes the partition over")
    func readyOnlyWhileHoldingPartitions() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, partitions: 1)
        let one = RunningConsumer(try fixture.runner())
        try await one.waitUntilReady()
        let two = RunningConsumer(try fixture.runner())

        // Both members of the group, then the partition with one of them for 3 s on end: the
        // rebalance is over, and the other's empty assignment (which counted as joining before)
        // has reached it. The embedded broker's group descriptions leave assignments out.
        let admin = try TestKafka.admin(fixture.broker)
        try #require(await eventually { (try? await admin.describeConsumerGroups([fixture.group]))?.first?.members.count == 2 }, "the second runner did not join")
        var settled: ContinuousClock.Instant?
        try await waitUntil("one runner holds the partition for 3 s") {
            guard one.runner.assignedPartitions.count + two.runner.assignedPartitions.count == 1 else {
                settled = nil
                return false
            }
            settled = settled ?? .now
            return settled!.duration(to: .now) >= .seconds(3)
        }
        let (holder, idle) = one.runner.assignedPartitions.isEmpty ? (two, one) : (one, two)
        #expect(holder.runner.isReady)
        #expect(!idle.runner.isReady, "a runner with no partition says it is ready")

        try await holder.stop()
        try await waitUntil("the other runner took the partition over") { idle.runner.assignedPartitions.count == 1 }
        #expect(idle.runner.isReady)
        try await idle.stop()
        #expect(!idle.runner.isReady)
    }
}
