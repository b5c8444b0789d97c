import Foundation
import GRDB
import HooklineKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Runs one consumer service: consumes its topics and applies each event exactly once in effect.
///
/// The loop takes a batch of up to ``ConsumerConfiguration/batchSize`` records and applies it in
/// one database transaction together with the processed event ids and the new next offsets;
/// only after that commit are the offsets committed to Kafka too (for lag monitors; a failure
/// there is only logged, since the database is the truth). A handler failing transiently is
/// retried with backoff while the consumer keeps polling; a permanent failure, or one that
/// outlasts ``ConsumerConfiguration/maxAttempts``, is written to the dead-letter topic before
/// its offset is stored. Beside the loop, a task checkpoints the database's WAL every
/// ``ConsumerConfiguration/checkpointInterval``, so commits do not do it.
///
/// A `Service`: on graceful shutdown it finishes the batch in hand, leaves the group and
/// returns. The database is opened and migrated by `init`, before anything runs.
package final class ConsumerRunner: Service, Sendable {
    package let service: ConsumerService
    package let configuration: ConsumerConfiguration
    package let metrics: ConsumerMetrics
    private let database: ConsumerDatabase
    private let logger: Logger
    private let status = Mutex(Status())
    /// Off only in tests that simulate a crash between the database commit and Kafka's.
    let commitsToKafka: Bool

    private struct Status {
        var tracker: PartitionTracker?
        var running = false
    }

    /// Opens the service's database and runs its migrations.
    package convenience init(
        service: ConsumerService,
        configuration: ConsumerConfiguration,
        metrics: ConsumerMetrics? = nil,
        logger: Logger
    ) throws {
        try self.init(service: service, configuration: configuration, metrics: metrics, logger: logger, commitsToKafka: true)
    }

    init(service: ConsumerService, configuration: ConsumerConfiguration, metrics: ConsumerMetrics?, logger: Logger, commitsToKafka: Bool) throws {
        self.service = service
        self.configuration = configuration
        self.metrics = metrics ?? ConsumerMetrics(service: service.name)
        var logger = logger
        logger[metadataKey: "hookline.service"] = "\(service.name)"
        self.logger = logger
        self.commitsToKafka = commitsToKafka
        self.database = try ConsumerDatabase(path: configuration.databasePath, service: service)
    }

    /// The service's database, for its read endpoints.
    package var reader: any DatabaseReader { self.database.pool }

    /// The service's database, for what runs beside the consumer and writes to it (the CI
    /// service's build trigger).
    package var writer: any DatabaseWriter { self.database.pool }

    /// True while running and holding at least one partition. A member the group assigned
    /// nothing (more instances than partitions, or none of its topics exists yet) has nothing to
    /// consume, and is not ready until a rebalance gives it some.
    package var isReady: Bool {
        self.status.withLock { $0.running && ($0.tracker?.holdsPartitions ?? false) }
    }

    /// The partitions this instance holds now, sorted.
    package var assignedPartitions: [TopicPartition] {
        let positions = self.status.withLock { $0.tracker?.positions ?? [:] }
        return positions.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    package func run() async throws {
        let admin = try KafkaAdmin(configuration: self.configuration.kafka, logger: self.logger)
        let producer = try KafkaProducer(configuration: self.configuration.deadLetterProducerConfiguration, logger: self.logger)
        let deadLetters = DeadLetterWriter(producer: producer, topic: self.configuration.deadLetterTopic(service: self.service.name))
        guard try await self.createDeadLetterTopic(deadLetters.topic, admin: admin) else {
            await producer.shutdown()
            self.logger.info("consumer stopped before Kafka answered")
            return
        }

        let gate = BatchGate()
        let tracker = PartitionTracker(
            database: self.database,
            admin: admin,
            gate: gate,
            groupID: self.configuration.groupID,
            identity: await admin.clusterID() ?? PartitionTracker.unknownIdentity,
            logger: self.logger
        )
        let consumer = try KafkaConsumer(configuration: self.configuration.consumerConfiguration, rebalanceListener: tracker, logger: self.logger)
        try consumer.subscribe(topics: self.service.subscription)
        self.status.withLock { $0 = Status(tracker: tracker, running: true) }
        self.logger.info("consumer started", metadata: ["kafka.topics": "\(self.service.subscription)", "kafka.group": "\(self.configuration.groupID)"])

        let loop = ConsumerLoop(
            service: self.service,
            configuration: self.configuration,
            metrics: self.metrics,
            database: self.database,
            consumer: consumer,
            tracker: tracker,
            gate: gate,
            admin: admin,
            deadLetters: deadLetters,
            commitsToKafka: self.commitsToKafka,
            logger: self.logger
        )
        let checkpoints = Task { await self.checkpointContinuously() }
        let stopping = Atomic(false)
        await withGracefulShutdownHandler {
            await loop.run(until: { stopping.load(ordering: .relaxed) })
        } onGracefulShutdown: {
            stopping.store(true, ordering: .relaxed)
        }
        checkpoints.cancel()
        await checkpoints.value

        self.status.withLock { $0.running = false }
        if self.commitsToKafka {
            // The loop's commits did not wait for the broker: leave Kafka's copy equal to the database's.
            do {
                try await consumer.commit(try await tracker.storedPositions())
            } catch {
                self.logger.warning("last offset commit to Kafka failed; the database keeps them", metadata: ["kafka.error": "\(error)"])
            }
        }
        // Revokes the partitions through the tracker (no batch is in hand now) and leaves the group.
        await consumer.close()
        await producer.shutdown()
        self.logger.info("consumer stopped")
    }

    /// Creates the dead-letter topic (it exists before any event could need it), waiting for a
    /// cluster that does not answer yet: started after the service, or restarting. True once the
    /// topic exists; false when the service was asked to stop first. An error that waiting
    /// cannot mend (authorization, an invalid topic) is thrown; too few brokers for the
    /// replication is waited out, as a cluster whose brokers are still joining it answers that.
    private func createDeadLetterTopic(_ topic: String, admin: KafkaAdmin) async throws(KafkaError) -> Bool {
        var attempts = 0
        while true {
            do {
                // A stop asked for meanwhile ends the wait for the broker's answer (`.interrupted`).
                let topics = [self.configuration.deadLetterTopic(topic)]
                try await cancelWhenGracefulShutdown { () async -> Result<Void, KafkaError> in
                    do throws(KafkaError) {
                        return .success(try await admin.createTopics(topics))
                    } catch {
                        return .failure(error)
                    }
                }.get()
                if attempts > 0 { self.logger.info("Kafka answers; the consumer starts", metadata: ["kafka.topic": "\(topic)"]) }
                return true
            } catch where error.code == .interrupted {
                return false
            } catch where error.isRetriable || [.timedOut, .transport, .allBrokersDown, .invalidReplicationFactor, .notController].contains(error.code) {
                // A cluster still starting (its brokers not all registered yet) refuses the
                // replication asked for: as much a cluster not answering yet as a timeout.
                attempts += 1
                self.logger.warning(
                    "Kafka does not answer yet; the consumer waits for it",
                    metadata: ["kafka.error": "\(error)", "kafka.brokers": "\(self.configuration.kafka.bootstrapServers)", "hookline.attempt": "\(attempts)"]
                )
                // Each attempt already waited out the admin request's timeout; a refused connection fails at once.
                let pause = Duration.seconds(min(attempts, 5))
                guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: pause) })) != nil, !Task.isShuttingDownGracefully else {
                    return false
                }
            }
        }
    }

    /// Checkpoints the WAL every ``ConsumerConfiguration/checkpointInterval`` until cancelled.
    private func checkpointContinuously() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.configuration.checkpointInterval)
                try await self.database.checkpoint()
            } catch is CancellationError {
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // Another connection to the file (a second instance of the service) is
                // checkpointing right now: the WAL is being taken care of.
                continue
            } catch {
                self.logger.warning("WAL checkpoint failed; the writer checkpoints itself past its backstop", metadata: ["error": "\(error)"])
            }
        }
    }
}
