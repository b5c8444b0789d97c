import Foundation
import GRDB
import HooklineKafka
import HooklineTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import HooklineConsumerKit

/// A test handler: each call appends one row to `effects`, so an event applied twice shows
/// as two rows (there is deliberately no unique constraint).
struct RecordingHandler: EventHandler {
    /// Slows each event down, so a stream is still running when a test stops a runner.
    var delay: Duration = .zero

    func apply(_ event: ConsumerEvent, in db: Database) throws {
        if delay > .zero { usleep(UInt32(delay.components.attoseconds / 1_000_000_000_000) + UInt32(delay.components.seconds) * 1_000_000) }
        try db.execute(
            sql: "INSERT INTO effects (event_id, topic, partition, kafka_offset) VALUES (?, ?, ?, ?)",
            arguments: [event.id, event.topic, event.partition, event.offset]
        )
    }

    static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("test.effects") { db in
            try db.execute(sql: "CREATE TABLE effects (event_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, kafka_offset INTEGER NOT NULL)")
        }
    }
}

/// A temporary directory for one test's database files, removed at the end.
struct TemporaryDirectory: ~Copyable {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-consumer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: self.url) }
}

/// One test's world: a topic, a group, a database file and the service over them.
struct ConsumerFixture {
    let broker: EmbeddedBroker
    let topic: String
    let group: String
    let prefix: String
    let databasePath: String
    var service: ConsumerService
    /// librdkafka properties for every client of the runner (`kafka.properties`).
    var kafkaProperties: [String: String] = [:]

    init(
        broker: EmbeddedBroker,
        directory: borrowing TemporaryDirectory,
        partitions: Int32 = 1,
        handlers: [String: any EventHandler] = ["test.recorded": RecordingHandler()]
    ) async throws {
        self.broker = broker
        self.topic = TestKafka.uniqueName("kit")
        self.group = TestKafka.uniqueName("kit-group")
        self.prefix = TestKafka.uniqueName("kitdlq")
        self.databasePath = directory.path("\(self.topic).sqlite")
        self.service = ConsumerService(
            name: "test",
            topicPatterns: ["^" + NSRegularExpression.escapedPattern(for: self.topic) + "$"],
            handlers: handlers,
            migrations: RecordingHandler.migrations
        )
        try await self.createTopic(partitions: partitions)
    }

    func createTopic(partitions: Int32 = 1) async throws {
        try await TestKafka.admin(self.broker).createTopics([.init(name: self.topic, partitions: partitions)])
    }

    func topicExists(_ admin: KafkaAdmin) async throws -> Bool {
        try await admin.listTopics().contains { $0.name == self.topic }
    }

    func configuration(batchSize: Int = 50, maxAttempts: Int = 5) -> ConsumerConfiguration {
        ConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: self.broker.bootstrapServers, properties: self.kafkaProperties),
            groupID: self.group,
            databasePath: self.databasePath,
            sessionTimeout: EmbeddedBroker.consumerSessionTimeout,
            topicPrefix: self.prefix,
            batchSize: batchSize,
            maxAttempts: maxAttempts,
            retryBackoff: .milliseconds(20),
            maxRetryBackoff: .milliseconds(100),
            lagRefreshInterval: .milliseconds(500)
        )
    }

    func runner(batchSize: Int = 50, maxAttempts: Int = 5, commitsToKafka: Bool = true, logger: Logger = TestKafka.logger) throws -> ConsumerRunner {
        try self.runner(self.configuration(batchSize: batchSize, maxAttempts: maxAttempts), commitsToKafka: commitsToKafka, logger: logger)
    }

    func runner(_ configuration: ConsumerConfiguration, commitsToKafka: Bool = true, logger: Logger = TestKafka.logger) throws -> ConsumerRunner {
        try ConsumerRunner(
            service: self.service,
            configuration: configuration,
            metrics: nil,
            logger: logger,
            commitsToKafka: commitsToKafka
        )
    }

    /// Publishes events as the gateway does (CloudEvents headers, JSON body); returns their ids.
    /// In order, one acknowledgement at a time, unless `concurrently` (much faster, any order).
    @discardableResult
    func publish(
        ids: [String],
        type: String = "test.recorded",
        source: String = "test",
        body: String = #"{"n": 1}"#,
        concurrently: Bool = false
    ) async throws -> [String] {
        let producer = try TestKafka.producer(self.broker)
        let topic = self.topic
        @Sendable func send(_ id: String) async throws {
            _ = try await producer.send(
                topic: topic,
                key: Array(id.utf8),
                value: Array(body.utf8),
                headers: [
                    KafkaHeader(key: "ce_id", value: id),
                    KafkaHeader(key: "ce_type", value: type),
                    KafkaHeader(key: "ce_source", value: source),
                    KafkaHeader(key: "content-type", value: "application/json"),
                ]
            )
        }
        if concurrently {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids { group.addTask { try await send(id) } }
                try await group.waitForAll()
            }
        } else {
            for id in ids { try await send(id) }
        }
        await producer.shutdown()
        return ids
    }

    /// Rows in `effects` per event id, read from the database file directly.
    func effects() throws -> [String: Int] {
        let queue = try DatabaseQueue(path: self.databasePath)
        return try queue.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT event_id, COUNT(*) AS n FROM effects GROUP BY event_id") {
                counts[row["event_id"]] = row["n"]
            }
            return counts
        }
    }

    /// The event ids in `processed_events` (kept for deduplication until pruned), sorted.
    func processedIDs() throws -> [String] {
        let queue = try DatabaseQueue(path: self.databasePath)
        return try queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM processed_events ORDER BY event_id") }
    }

    /// Every effect row: which event, applied from which partition.
    func effectRows() throws -> [(id: String, partition: Int32)] {
        let queue = try DatabaseQueue(path: self.databasePath)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, partition FROM effects").map { (id: $0["event_id"], partition: $0["partition"]) }
        }
    }

    /// The stored next offsets of the topic, by partition.
    func storedOffsets() throws -> [Int32: Int64] {
        let queue = try DatabaseQueue(path: self.databasePath)
        return try queue.read { db in
            var offsets: [Int32: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT partition, next_offset FROM kafka_offsets WHERE topic = ?", arguments: [self.topic]) {
                offsets[row["partition"]] = row["next_offset"]
            }
            return offsets
        }
    }

    /// Stores partition 0's next offset as taken from the log of cluster `identity`, in a
    /// database the kit has migrated (as a runner left it).
    func storeOffset(_ next: Int64, partition: Int32 = 0, identity: String) async throws {
        let database = try ConsumerDatabase(path: self.databasePath, service: self.service)
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO kafka_offsets (topic, partition, next_offset, topic_identity, updated_at) VALUES (?, ?, ?, ?, 0)",
                arguments: [self.topic, partition, next, identity]
            )
        }
    }
}

/// A runner inside its own service group, so tests can shut it down gracefully as SIGTERM would.
struct RunningConsumer {
    let runner: ConsumerRunner
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(_ runner: ConsumerRunner) {
        self.runner = runner
        self.group = ServiceGroup(services: [runner], logger: TestKafka.logger)
        let group = self.group
        self.task = Task { try await group.run() }
    }

    /// Graceful shutdown; throws if the runner did not exit cleanly.
    func stop() async throws {
        await self.group.triggerGracefulShutdown()
        try await self.task.value
    }

    func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("the runner holds partitions", timeout: timeout) { self.runner.isReady }
    }
}

/// Polls `condition` until it holds; fails the test after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(45), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

/// Reads one counter of the runner's metrics from their Prometheus text.
func metric(_ runner: ConsumerRunner, _ name: String) -> Double {
    let prefix = "hookline_consumer_\(name){"
    for line in runner.metrics.render().split(separator: "\n") where line.hasPrefix(prefix) {
        if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
    }
    return 0
}

func ids(_ prefix: String, _ range: Range<Int>) -> [String] {
    range.map { "\(prefix)-\($0)" }
}
