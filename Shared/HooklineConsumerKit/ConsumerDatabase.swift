import Foundation
import GRDB
import HooklineKafka

/// The service's SQLite database (WAL): the service's own tables plus the kit's two,
///
/// - `kafka_offsets(topic, partition, next_offset, topic_identity, topic_id)`: per partition, the
///   next offset to process, written in the same transaction as the effects of the records before
///   it, and the log it belongs to (``LogIdentities``: the cluster's id and the topic's);
/// - `processed_events(event_source, event_id, processed_at)`: the events already applied, by
///   `ce_source` and `ce_id`, for deduplication. An id is the provider's, unique only within
///   one source: two sources (two generic HMAC endpoints numbering their orders, say) may both
///   send an event 42.
final class ConsumerDatabase: Sendable {
    let pool: DatabasePool

    /// The database file.
    var path: String { self.pool.path }
    /// A connection of its own for WAL checkpoints (``checkpoint()``), so they run beside the
    /// writer instead of inside its commits.
    private let checkpointer: DatabaseQueue

    /// WAL pages after which the writer checkpoints in its own commit, as SQLite does by default
    /// every 1,000: only a backstop here, for when ``checkpoint()`` does not keep up.
    static let writerCheckpointPages = 10_000

    /// Opens (creating when missing) the file and runs the kit's migrations, then the service's.
    init(path: String, service: ConsumerService) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        // Instances of one service share the file; a writer waits for the other's transaction.
        configuration.busyMode = .timeout(30)
        configuration.label = "hookline.\(service.name)"
        configuration.prepareDatabase { db in
            // Full durability: every committed batch survives a power loss (one WAL fsync per batch).
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.writerCheckpointPages)")
        }
        var migrator = DatabaseMigrator()
        Self.registerKitMigrations(&migrator)
        service.migrations(&migrator)
        self.pool = try Self.open(path: path, configuration: configuration, migrator: migrator)

        var checkpointing = Configuration()
        // Opening reads the schema, which waits too while another instance turns a new file to
        // WAL (without it, that instance's first open failed this one at once, "database is locked").
        checkpointing.busyMode = configuration.busyMode
        checkpointing.label = "hookline.\(service.name).checkpoint"
        self.checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
    }

    /// Opens the file and migrates it, again while another instance of the service (which shares
    /// the file, and starts beside this one) is doing the same. A deployment starts them together,
    /// and two first opens race: turning a new file to WAL fails busy at once, and GRDB's migrator
    /// reads which migrations the file has before running each of the others in a transaction of
    /// its own, so the instance that waited for the other's runs the same migration again and
    /// fails (`table … already exists`), rolled back. Each failure is looked at again after a
    /// short pause; the file is done once the other instance has migrated it. A failure of its
    /// own (a migration that cannot run, a file that is not a database) is thrown at the last try.
    private static func open(path: String, configuration: Configuration, migrator: DatabaseMigrator) throws -> DatabasePool {
        let attempts = 8
        var attempt = 1
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                do {
                    try migrator.migrate(pool)
                } catch {
                    guard try pool.read(migrator.hasCompletedMigrations) else { throw error }
                }
                return pool
            } catch where attempt < attempts {
                // 25 to 50 ms, then longer: out of step with the other instance.
                Thread.sleep(forTimeInterval: Double(attempt) * .random(in: 0.025...0.05))
                attempt += 1
            }
        }
    }

    /// Copies what the WAL holds into the database file (a passive checkpoint: it never waits
    /// for, nor blocks, the writer or readers). Returns the pages copied.
    ///
    /// SQLite's default is a checkpoint inside the commit that takes the WAL over 1,000 pages:
    /// the writer then copies pages and fsyncs the database file while the batch waits. Run
    /// from a task of its own, the same work overlaps the next batches.
    @discardableResult
    func checkpoint() async throws -> Int {
        try await self.checkpointer.writeWithoutTransaction { db in
            try db.checkpoint(.passive).checkpointedFrameCount
        }
    }

    private static func registerKitMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("hookline.consumer-kit.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kafka_offsets (
                        topic TEXT NOT NULL,
                        partition INTEGER NOT NULL,
                        next_offset INTEGER NOT NULL,
                        topic_identity TEXT NOT NULL,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (topic, partition)
                    );
                    CREATE TABLE processed_events (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        processed_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX processed_events_processed_at ON processed_events(processed_at);
                    """
            )
        }
        // v1 deduplicated on the id alone, so a second source's event with an id the first had
        // used was taken for a duplicate and dropped. Its rows, whose source is unknown, keep
        // deduplicating by id alone (as `legacySource`) until the retention prunes them.
        migrator.registerMigration("hookline.consumer-kit.v2-dedupe-by-source") { db in
            try db.execute(
                sql: """
                    CREATE TABLE processed_events_v2 (
                        event_source TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        processed_at REAL NOT NULL,
                        PRIMARY KEY (event_source, event_id)
                    ) WITHOUT ROWID;
                    INSERT INTO processed_events_v2 (event_source, event_id, processed_at)
                        SELECT ?, event_id, processed_at FROM processed_events;
                    DROP TABLE processed_events;
                    ALTER TABLE processed_events_v2 RENAME TO processed_events;
                    CREATE INDEX processed_events_processed_at ON processed_events(processed_at);
                    """,
                arguments: [Self.legacySource]
            )
        }
        // The topic's id (KIP-516) beside the cluster's, in a column of its own: a binary from
        // before reads `topic_identity` as it wrote it, so a rollback keeps every stored offset.
        migrator.registerMigration("hookline.consumer-kit.v3-topic-id") { db in
            try db.execute(sql: "ALTER TABLE kafka_offsets ADD COLUMN topic_id TEXT")
        }
    }

    /// `event_source` of the rows kept from before events were deduplicated by source: not a
    /// `ce_source` a gateway writes (those start with `/`). An event whose id one of them holds
    /// is a duplicate, whatever its source.
    static let legacySource = "*"

    /// A stored position: the next offset to process, and the log it belongs to.
    struct StoredOffset: Sendable, Hashable {
        var nextOffset: Int64
        /// The cluster's id (`topic_identity`; ``PartitionTracker/unknownIdentity`` when it could not be read).
        var cluster: String
        /// The topic's id, 32 hex digits (`topic_id`); nil when the broker gave none.
        var topicID: String? = nil
    }

    /// The stored positions of these partitions (absent where none is stored).
    func offsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: StoredOffset] {
        let topics = Array(Set(partitions.map(\.topic)))
        let wanted = Set(partitions)
        return try await self.pool.read { db in
            var result: [TopicPartition: StoredOffset] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT topic, partition, next_offset, topic_identity, topic_id FROM kafka_offsets WHERE topic IN (SELECT value FROM json_each(?))",
                arguments: [Self.jsonArray(topics)]
            )
            for row in rows {
                let partition = TopicPartition(topic: row["topic"], partition: row["partition"])
                guard wanted.contains(partition) else { continue }
                result[partition] = StoredOffset(nextOffset: row["next_offset"], cluster: row["topic_identity"], topicID: row["topic_id"])
            }
            return result
        }
    }

    /// Forgets every stored position of these topics: their logs are not the ones the offsets
    /// were taken from.
    func discardOffsets(topics: Set<String>) async throws {
        guard !topics.isEmpty else { return }
        try await self.pool.write { db in
            try db.execute(
                sql: "DELETE FROM kafka_offsets WHERE topic IN (SELECT value FROM json_each(?))",
                arguments: [Self.jsonArray(Array(topics))]
            )
        }
    }

    /// Deletes processed-event ids older than `retention`; returns how many.
    func pruneProcessedEvents(olderThan retention: Duration, now: Date = Date()) async throws -> Int {
        let cutoff = now.timeIntervalSince1970 - Double(retention.components.seconds)
        return try await self.pool.write { db in
            try db.execute(sql: "DELETE FROM processed_events WHERE processed_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    private static func jsonArray(_ strings: [String]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: strings)
        return String(decoding: data, as: UTF8.self)
    }
}
