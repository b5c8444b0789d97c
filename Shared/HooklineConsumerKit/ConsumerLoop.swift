import Foundation
import HooklineKafka
import Logging
import Prometheus
import Synchronization

/// The runner's processing loop: batches in, effects and offsets out.
struct ConsumerLoop: Sendable {
    let service: ConsumerService
    let configuration: ConsumerConfiguration
    let metrics: ConsumerMetrics
    let database: ConsumerDatabase
    let consumer: KafkaConsumer
    let tracker: PartitionTracker
    let gate: BatchGate
    let admin: KafkaAdmin
    let deadLetters: DeadLetterWriter
    let commitsToKafka: Bool
    let logger: Logger
    /// The event types logged as having no handler: each once (a handler registered under
    /// another name, `shop.orders.create` for `shopify.orders.create`, is otherwise only a count).
    private let unhandledTypes = FirstSightings(limit: 100)

    /// Processes batches until `stopping` says so (checked between batches) or the task is cancelled.
    func run(until stopping: @Sendable () -> Bool) async {
        let clock = ContinuousClock()
        var nextPrune = clock.now
        var nextCommit = clock.now
        // The lag metric has a task of its own: reading the partitions' ends takes a fetch on the
        // embedded broker (`EndOffsetProbe`, up to 3 s when one does not answer), which the
        // batches must not wait for.
        let lagMetric = Task {
            while !Task.isCancelled {
                await self.refreshLagMetric()
                try? await Task.sleep(for: self.configuration.lagRefreshInterval)
            }
        }
        while !stopping(), !Task.isCancelled {
            if clock.now >= nextPrune {
                nextPrune = clock.now + self.configuration.pruneInterval
                await self.prune()
            }
            if clock.now >= nextCommit {
                nextCommit = clock.now + self.configuration.lagRefreshInterval
                await self.commitStoredPositions()
            }
            self.gate.expectBatch()
            var batch = await self.consumer.nextBatch(maxCount: self.configuration.batchSize, timeout: self.configuration.pollTimeout)
            let revoked = self.gate.enter()
            if !revoked.isEmpty {
                batch.removeAll { revoked.contains($0.topicPartition) }
            }
            if !batch.isEmpty {
                await self.process(batch, stopping: stopping)
            }
            self.gate.leave()
        }
        lagMetric.cancel()
        await lagMetric.value
    }

    /// Applies one batch: in as few transactions as its failures allow (one when none fails).
    func process(_ batch: [KafkaConsumerMessage], stopping: @Sendable () -> Bool) async {
        let started = ContinuousClock.now
        defer { self.metrics.batchDuration.record(started.duration(to: .now)) }
        var pending = batch[...]
        /// Failed attempts of `pending.first`, and whether it is already dead-lettered.
        var attempts = 0
        var deadLettered = false
        var databaseFailures = 0

        while !pending.isEmpty {
            // A revoke is waiting: leave its partitions' records to their next owner, who starts at
            // the stored offset.
            if pending.contains(where: { self.gate.isRevoked($0.topicPartition) }) {
                let first = pending.first
                pending = pending.filter { !self.gate.isRevoked($0.topicPartition) }[...]
                // The failures counted and the dead letter written are the first record's: they
                // stay with it while it stays first (a cooperative revoke of another partition).
                if pending.first?.topicPartition != first?.topicPartition || pending.first?.offset != first?.offset {
                    attempts = 0
                    deadLettered = false
                }
                continue
            }
            let plan = ConsumerDatabase.BatchPlan(
                handlers: self.service.handlers,
                identities: self.tracker.identities,
                ignoredTopics: [self.deadLetters.topic],
                firstIsDeadLettered: deadLettered
            )
            let result: ConsumerDatabase.BatchResult
            do {
                result = try await self.database.apply(Array(pending), plan: plan)
                databaseFailures = 0
            } catch {
                databaseFailures += 1
                self.metrics.transactionFailures.increment()
                self.logger.error("batch transaction failed; retrying", metadata: ["error": "\(error)", "hookline.attempt": "\(databaseFailures)"])
                guard await self.pause(self.configuration.backoff(afterAttempt: databaseFailures), stopping: stopping) else { return }
                continue
            }
            self.record(result)
            await self.storeInKafka(result.offsets)
            pending = pending.dropFirst(result.settled)
            if result.settled > 0 {
                attempts = 0
                deadLettered = false
            }
            guard let failure = result.failure, let record = pending.first else { continue }

            attempts += 1
            let metadata: Logger.Metadata = [
                "kafka.partition": "\(record.topicPartition)", "kafka.offset": "\(record.offset)",
                "hookline.attempt": "\(attempts)", "error": "\(failure)",
            ]
            if failure.code == .permanent || attempts >= self.configuration.maxAttempts {
                do {
                    let content = try await self.deadLetters.write(record, reason: failure, attempts: attempts)
                    self.metrics.deadLettered.increment()
                    let letter = metadata.merging(["kafka.dlq_topic": "\(self.deadLetters.topic)"]) { $1 }
                    switch content {
                    case .complete:
                        self.logger.error("event dead-lettered", metadata: letter)
                    case .withoutPayload, .referenceOnly:
                        self.logger.error("event dead-lettered without its payload, too large for a dead letter; the original stays in its topic", metadata: letter)
                    }
                    deadLettered = true
                } catch {
                    self.metrics.deadLetterFailures.increment()
                    self.logger.error("dead-letter write failed; retrying", metadata: metadata.merging(["kafka.error": "\(error)"]) { $1 })
                    await self.restoreDeadLetterTopic(after: error)
                    guard await self.pause(self.configuration.backoff(afterAttempt: attempts), stopping: stopping) else { return }
                }
            } else {
                self.metrics.retries.increment()
                self.logger.warning("event failed; retrying", metadata: metadata)
                guard await self.pause(self.configuration.backoff(afterAttempt: attempts), stopping: stopping) else { return }
            }
        }
    }

    private func record(_ result: ConsumerDatabase.BatchResult) {
        self.metrics.applied.increment(by: Int64(result.applied))
        self.metrics.duplicates.increment(by: Int64(result.duplicates))
        self.metrics.ignored.increment(by: Int64(result.ignored))
        self.metrics.alreadyApplied.increment(by: Int64(result.alreadyApplied))
        for type in result.unhandledTypes.sorted() where self.unhandledTypes.isFirst(type) {
            self.logger.info(
                "no handler for this event type: its records are skipped (hookline_consumer_events_ignored_total)",
                metadata: ["hookline.event_type": "\(ConsumerError.quoting(type, limit: 100))", "hookline.handled_types": "\(self.service.handlers.keys.sorted())"]
            )
        }
        if result.duplicates > 0 {
            self.logger.info("duplicate deliveries skipped", metadata: ["hookline.duplicates": "\(result.duplicates)"])
        }
        if result.alreadyApplied > 0 {
            self.logger.info("records below the stored offset skipped", metadata: ["hookline.already_applied": "\(result.alreadyApplied)"])
        }
    }

    /// Commits the offsets the database just stored to the group as well.
    private func storeInKafka(_ offsets: [TopicPartition: Int64]) async {
        guard !offsets.isEmpty else { return }
        self.tracker.advance(offsets)
        guard self.commitsToKafka else { return }
        // Kafka's copy is for lag monitors only (the database's is the truth), so the loop does not
        // wait for the broker: that round trip per batch would cap the service's rate. The
        // runner commits once more, and waits, when it stops.
        self.consumer.commitWithoutWaiting(offsets)
    }

    /// Creates the dead-letter topic again when a write failed as one to a missing topic does:
    /// it is created once at start, and one deleted while the service runs (on a broker that does
    /// not create topics on a producer's request) would otherwise refuse every dead letter, and
    /// the loop retry the same record for good. librdkafka reports a missing topic as unknown,
    /// or, when the topic went away under records already queued for it, as a timeout; creating
    /// a topic that exists changes nothing. The producer sees the new topic at its next metadata
    /// refresh (``ConsumerConfiguration/deadLetterProducerConfiguration``).
    private func restoreDeadLetterTopic(after error: KafkaError) async {
        guard [.unknownTopicOrPartition, .unknownTopic, .unknownPartition, .messageTimedOut].contains(error.code) else { return }
        let topic = self.deadLetters.topic
        do {
            try await self.admin.createTopics([self.configuration.deadLetterTopic(topic)])
            self.logger.warning("made sure the dead-letter topic exists (created again if it was missing)", metadata: ["kafka.dlq_topic": "\(topic)"])
        } catch {
            self.logger.warning("creating the dead-letter topic failed", metadata: ["kafka.dlq_topic": "\(topic)", "kafka.error": "\(error)"])
        }
    }

    /// Waits before a retry. False when the batch should be given up: shutting down or cancelled
    /// (its records stay after the stored offsets and are read again on the next start).
    private func pause(_ delay: Duration, stopping: @Sendable () -> Bool) async -> Bool {
        guard !stopping() else {
            self.logger.warning("shutting down; the rest of the batch is left for the next start")
            return false
        }
        do {
            try await Task.sleep(for: delay)
            return true
        } catch {
            return false
        }
    }

    private func prune() async {
        do {
            let removed = try await self.database.pruneProcessedEvents(olderThan: self.configuration.dedupRetention)
            if removed > 0 {
                self.logger.info("pruned processed event ids", metadata: ["hookline.pruned": "\(removed)"])
            }
        } catch {
            self.logger.warning("pruning processed event ids failed", metadata: ["error": "\(error)"])
        }
    }

    /// Commits the database's offsets to the group once more: lag monitors read the group's, and
    /// it can fall behind the database's for good while a partition is quiet. The loop's commits
    /// do not wait, so one can be lost, and a start from the database's offsets (after a crash
    /// between the database's commit and Kafka's, or a replay) commits nothing: the monitor would
    /// show lag, and a stalled group, that the service does not have. Only the partitions this
    /// instance holds, read between batches (so that no older position is committed after a
    /// batch's newer one); a partition with no row yet commits nothing.
    private func commitStoredPositions() async {
        guard self.commitsToKafka else { return }
        do {
            self.consumer.commitWithoutWaiting(try await self.tracker.storedPositions())
        } catch {
            self.logger.debug("reading the stored offsets to commit failed", metadata: ["error": "\(error)"])
        }
    }

    /// Refreshes the lag metric: the instance's own view of the partitions it holds.
    private func refreshLagMetric() async {
        do {
            self.metrics.setLag(try await self.tracker.lag())
        } catch {
            self.logger.debug("refreshing lag failed", metadata: ["kafka.error": "\(error)"])
        }
    }
}

/// Values seen so far, up to `limit` of them (the values come from the records read): tells
/// whether a value is seen for the first time, so that it is logged once.
private final class FirstSightings: Sendable {
    private let seen = Mutex<Set<String>>([])
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func isFirst(_ value: String) -> Bool {
        self.seen.withLock { seen in
            guard seen.count < self.limit else { return false }
            return seen.insert(value).inserted
        }
    }
}
