import Foundation
import GRDB
import HooklineKafka

extension ConsumerDatabase {
    /// What one batch transaction did.
    struct BatchResult: Sendable {
        /// How many records, from the front of the batch, are settled: applied, skipped as
        /// duplicates or ignored, and now behind the stored offsets.
        var settled = 0
        /// The next offsets stored by this transaction, per partition it moved.
        var offsets: [TopicPartition: Int64] = [:]
        var applied = 0
        var duplicates = 0
        var ignored = 0
        /// The types of the records ignored for want of a handler.
        var unhandledTypes: Set<String> = []
        /// Records below the stored offset: another instance (or an earlier run) applied them.
        var alreadyApplied = 0
        /// Why record `settled` failed; nothing after it was tried. Nil when all settled.
        var failure: ConsumerError?
    }

    /// What to do with each record of a batch.
    struct BatchPlan: Sendable {
        var handlers: [String: any EventHandler]
        /// The identities of the logs the offsets are taken from (see ``PartitionTracker``).
        var identities: LogIdentities
        /// Topics whose records are settled without a handler (the service's own dead letters).
        var ignoredTopics: Set<String>
        /// The first record was dead-lettered: settle it without applying.
        var firstIsDeadLettered = false
    }

    /// Applies records in one write transaction (one fsync): each with its `ce_source` and `ce_id`
    /// recorded in `processed_events`, and the new next offsets in `kafka_offsets`.
    ///
    /// Stops at the first record that fails: the records before it are committed, it and the
    /// rest are not. Records below a partition's stored offset were applied already (by another
    /// instance that held the partition, or before a redelivery) and are skipped: the stored
    /// offset, not Kafka's, is the truth.
    ///
    /// Handlers run without a savepoint each (they were two of the three statements a small
    /// handler's event cost): when one throws, the whole transaction is rolled back and the
    /// records before it are applied again in a new one. Failures are rare; the common path
    /// pays nothing for them.
    func apply(_ records: [KafkaConsumerMessage], plan: BatchPlan) async throws -> BatchResult {
        var records = records[...]
        var failure: ConsumerError?
        while !records.isEmpty {
            do {
                let attempt = records
                var result = try await self.pool.write { db in try Self.applyAll(attempt, plan: plan, db) }
                result.failure = failure
                return result
            } catch let failed as HandlerFailure {
                // Undone with the transaction; the records before it go again, without it.
                failure = failed.error
                records = records.prefix(failed.index)
            }
        }
        return BatchResult(failure: failure)
    }

    /// A handler threw for the record at `index` of the slice: rolls the transaction back.
    private struct HandlerFailure: Error {
        var index: Int
        var error: ConsumerError
    }

    private static func applyAll(_ records: ArraySlice<KafkaConsumerMessage>, plan: BatchPlan, _ db: Database) throws -> BatchResult {
        var result = BatchResult()
        var stored = try Self.storedNextOffsets(db, partitions: Set(records.map(\.topicPartition)))
        let now = Date().timeIntervalSince1970
        let markProcessed = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO processed_events (event_source, event_id, processed_at) VALUES (?, ?, ?)"
        )
        // Rows from before the dedupe by source, while the retention has not pruned them all.
        let legacySource = ConsumerDatabase.legacySource
        let anyLegacy = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_source = ?)")
        let legacy = try Bool.fetchOne(anyLegacy, arguments: [legacySource]) ?? false
        let seenByIDAlone = try db.cachedStatement(sql: "SELECT 1 FROM processed_events WHERE event_source = ? AND event_id = ?")

        for (index, record) in zip(0..., records) {
            let partition = record.topicPartition
            if let next = stored[partition], record.offset < next {
                result.alreadyApplied += 1
            } else if index == 0 && plan.firstIsDeadLettered || plan.ignoredTopics.contains(record.topic) {
                result.ignored += 1
            } else {
                do {
                    let event = try ConsumerEvent(record)
                    if let handler = plan.handlers[event.type] {
                        let seenBefore = try legacy && Row.fetchOne(seenByIDAlone, arguments: [legacySource, event.id]) != nil
                        if !seenBefore {
                            try markProcessed.execute(arguments: [event.source ?? "", event.id, now])
                        }
                        if seenBefore || db.changesCount == 0 {
                            result.duplicates += 1
                        } else {
                            try handler.apply(event, in: db)
                            result.applied += 1
                        }
                    } else {
                        result.ignored += 1
                        result.unhandledTypes.insert(event.type)
                    }
                } catch let error as DatabaseError where error.isTheDatabases {
                    // Not the event's failure: the transaction is retried as a whole, without a
                    // limit, as a failed commit is. Counted against the event, a full disk would
                    // dead-letter every event that came while it lasted.
                    throw error
                } catch {
                    throw HandlerFailure(index: index, error: ConsumerError.classify(error))
                }
            }
            result.settled = index + 1
            // Moves the fence too: a record read twice within one batch is not applied twice.
            stored[partition] = max(record.offset + 1, stored[partition] ?? 0)
            result.offsets[partition] = stored[partition]
        }

        let storeOffset = try db.cachedStatement(
            sql: """
                INSERT INTO kafka_offsets (topic, partition, next_offset, topic_identity, topic_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (topic, partition) DO UPDATE SET
                    next_offset = excluded.next_offset, topic_identity = excluded.topic_identity, topic_id = excluded.topic_id,
                    updated_at = excluded.updated_at
                """
        )
        for (partition, next) in result.offsets {
            try storeOffset.execute(
                arguments: [partition.topic, partition.partition, next, plan.identities.cluster, plan.identities.topicIDs[partition.topic], now]
            )
        }
        return result
    }

    private static func storedNextOffsets(_ db: Database, partitions: Set<TopicPartition>) throws -> [TopicPartition: Int64] {
        let select = try db.cachedStatement(sql: "SELECT next_offset FROM kafka_offsets WHERE topic = ? AND partition = ?")
        var offsets: [TopicPartition: Int64] = [:]
        for partition in partitions {
            if let next = try Int64.fetchOne(select, arguments: [partition.topic, partition.partition]) {
                offsets[partition] = next
            }
        }
        return offsets
    }
}

extension DatabaseError {
    /// A failure of the database itself (disk full, I/O, locked, out of memory, read-only,
    /// corrupt), which says nothing about the event being applied when it happened. A handler's
    /// own mistakes (a constraint it breaks, SQL that does not compile) are not among them.
    var isTheDatabases: Bool {
        switch self.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_READONLY, .SQLITE_CANTOPEN,
            .SQLITE_PROTOCOL, .SQLITE_CORRUPT, .SQLITE_NOTADB:
            true
        default:
            false
        }
    }
}
