import Foundation
import GRDB
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import Synchronization
import Testing

@testable import HooklineConsumerKit

/// Decodes `{"n": Int}` (a payload that is not JSON fails permanently) and records it.
struct DecodingHandler: EventHandler {
    struct Payload: Decodable { var n: Int }

    func apply(_ event: ConsumerEvent, in db: Database) throws {
        _ = try event.json(Payload.self)
        try RecordingHandler().apply(event, in: db)
    }
}

/// Fails transiently the first `failures` times it sees each event, then records it. Also
/// writes before failing, to prove the failed attempt's writes are rolled back.
final class FlakyHandler: EventHandler {
    let failures: Int
    private let attempts = Mutex<[String: Int]>([:])

    init(failures: Int) {
        self.failures = failures
    }

    func attempts(_ id: String) -> Int { self.attempts.withLock { $0[id] ?? 0 } }

    func apply(_ event: ConsumerEvent, in db: Database) throws {
        let attempt = self.attempts.withLock { attempts in
            attempts[event.id, default: 0] += 1
            return attempts[event.id]!
        }
        try RecordingHandler().apply(event, in: db)
        if attempt <= self.failures {
            throw ConsumerError.transient("the downstream is unavailable (attempt \(attempt))")
        }
    }
}

/// Fills the database for its first `failures` calls: SQLite's own SQLITE_FULL, from a page
/// limit set at the file's size while the handler writes more than fits. Then records the event.
final class DiskFullHandler: EventHandler {
    let failures: Int
    private let calls = Mutex(0)

    init(failures: Int) {
        self.failures = failures
    }

    var callCount: Int { self.calls.withLock { $0 } }

    func apply(_ event: ConsumerEvent, in db: Database) throws {
        let call = self.calls.withLock { calls in
            calls += 1
            return calls
        }
        if call <= self.failures {
            let limit = try Int.fetchOne(db, sql: "PRAGMA max_page_count")!
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            defer { try? db.execute(sql: "PRAGMA max_page_count = \(limit)") }
            try db.execute(sql: "INSERT INTO effects (event_id, topic, partition, kafka_offset) VALUES (hex(randomblob(200000)), 'filler', 0, 0)")
        }
        try RecordingHandler().apply(event, in: db)
    }
}

/// Refuses the event `poison` for good, with a reason of 900 characters: with it, even a dead
/// letter of the `hookline-dlq-*` headers alone is over a `message.max.bytes` of 1,000. Records
/// every other event.
struct LongRefusalHandler: EventHandler {
    func apply(_ event: ConsumerEvent, in db: Database) throws {
        guard event.id == "poison" else { return try RecordingHandler().apply(event, in: db) }
        throw ConsumerError.permanent(String(repeating: "r", count: 900))
    }
}

@Suite("Consumer runner: failures and dead letters", .serialized, .timeLimit(.minutes(3)))
struct ConsumerFailureTests {
    @Test("from a configuration file, the dead-letter topic is created with kafka.partitions and kafka.replication_factor, as the gateway's topics are")
    func deadLetterTopicFromConfiguration() {
        var kafka = KafkaSection()
        kafka.partitions = 3
        kafka.replicationFactor = 3
        kafka.topicConfig = ["min.insync.replicas": "2"]
        let topic = ConsumerConfiguration(service: "orders", kafka: kafka, section: ServiceSection()).deadLetterTopic("webhooks.dlq.orders")
        #expect(topic.partitions == 3)
        // It was 1 whatever the file said: on a cluster, one broker's loss lost the dead letters.
        #expect(topic.replicationFactor == 3)
        #expect(topic.config == ["min.insync.replicas": "2"])
    }

    @Test("a poison message goes to the dead-letter topic with its reason and source; the stream continues; a transient failure applies once; a type without a handler is skipped, and logged once")
    func poisonAndTransientFailures() async throws {
        let directory = try TemporaryDirectory()
        let flaky = FlakyHandler(failures: 2)
        let broken = FlakyHandler(failures: .max)
        let fixture = try await ConsumerFixture(
            broker: try await TestKafka.broker(),
            directory: directory,
            handlers: ["test.json": DecodingHandler(), "test.flaky": flaky, "test.broken": broken]
        )
        // Offsets 0…6 of one partition, in this order.
        try await fixture.publish(ids: ["ok-1"], type: "test.json")
        try await fixture.publish(ids: ["poison"], type: "test.json", body: "{not json")
        try await fixture.publish(ids: ["flaky"], type: "test.flaky")
        try await fixture.publish(ids: ["broken"], type: "test.broken")
        try await fixture.publish(ids: ["ok-2"], type: "test.json")
        try await fixture.publish(ids: ["no-handler"], type: "test.unknown")
        try await fixture.publish(ids: ["no-handler-2"], type: "test.unknown")

        let logs = LogRecords()
        let running = RunningConsumer(try fixture.runner(maxAttempts: 3, logger: logs.logger()))
        try await waitUntil("the stream passed every record") { try fixture.storedOffsets() == [0: 7] }
        try await running.stop()

        #expect(try fixture.effects() == ["ok-1": 1, "flaky": 1, "ok-2": 1])
        // Two failures, then it applied; once more when "broken", behind it in the same batch,
        // failed and rolled the transaction back. Its effect is there once all the same.
        #expect(flaky.attempts("flaky") >= 3)
        #expect(broken.attempts("broken") == 3)
        #expect(metric(running.runner, "events_applied_total") == 3)
        #expect(metric(running.runner, "retries_total") == 4)  // two for flaky, two for broken
        #expect(metric(running.runner, "dead_lettered_total") == 2)
        #expect(metric(running.runner, "events_ignored_total") == 4)  // the two dead letters, the two of no handler
        let unhandled = logs.all.filter { $0.message.hasPrefix("no handler for this event type") }
        #expect(unhandled.map(\.metadata["hookline.event_type"]) == [#""test.unknown""#], "logged once, quoted")
        #expect(unhandled.first?.metadata["hookline.handled_types"] == #"["test.broken", "test.flaky", "test.json"]"#)

        let deadLetters = try await readAll(fixture, topic: fixture.configuration().deadLetterTopic(service: "test"), count: 2)
        #expect(deadLetters.count == 2)
        let poison = try #require(deadLetters.first { $0.headers.first("ce_id")?.stringValue == "poison" })
        #expect(poison.headers.first("hookline-dlq-reason")?.stringValue?.hasPrefix("permanent") == true)
        #expect(poison.headers.first("hookline-dlq-source-topic")?.stringValue == fixture.topic)
        #expect(poison.headers.first("hookline-dlq-source-partition")?.stringValue == "0")
        #expect(poison.headers.first("hookline-dlq-source-offset")?.stringValue == "1")
        #expect(poison.headers.first("hookline-dlq-attempts")?.stringValue == "1")
        #expect(poison.headers.first("ce_type")?.stringValue == "test.json")
        #expect(poison.value == Array("{not json".utf8))
        let gaveUp = try #require(deadLetters.first { $0.headers.first("ce_id")?.stringValue == "broken" })
        #expect(gaveUp.headers.first("hookline-dlq-reason")?.stringValue?.hasPrefix("transient") == true)
        #expect(gaveUp.headers.first("hookline-dlq-source-offset")?.stringValue == "3")
        #expect(gaveUp.headers.first("hookline-dlq-attempts")?.stringValue == "3")
    }

    @Test("a full disk under a handler is the database's failure, not the event's: the batch waits for room, retried past max_attempts, and nothing is dead-lettered")
    func diskFullIsNotTheEvents() async throws {
        let directory = try TemporaryDirectory()
        let full = DiskFullHandler(failures: 6)
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, handlers: ["test.full": full])
        try await fixture.publish(ids: ["a", "b"], type: "test.full")

        let running = RunningConsumer(try fixture.runner(maxAttempts: 3))
        try await waitUntil("both applied") { try fixture.storedOffsets() == [0: 2] }
        try await running.stop()

        #expect(full.callCount >= 8, "six calls failed, then each event applied")
        #expect(try fixture.effects() == ["a": 1, "b": 1])
        #expect(metric(running.runner, "dead_lettered_total") == 0)
        #expect(metric(running.runner, "transaction_failures_total") >= 6)
        #expect(metric(running.runner, "events_applied_total") == 2)
    }

    @Test("a poison record too large to dead-letter whole is dead-lettered without its payload, pointing at the original; the record after it is applied")
    func oversizedPoison() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, handlers: ["test.json": DecodingHandler()])
        // Not JSON, so it fails permanently. With its key and headers it fits the producer's
        // message.max.bytes (1,000,000); with the dead-letter headers added it does not.
        try await fixture.publish(ids: ["huge"], type: "test.json", body: String(repeating: "x", count: 999_800))
        try await fixture.publish(ids: ["ok"], type: "test.json")

        let running = RunningConsumer(try fixture.runner())
        try await waitUntil("the stream passed both records", timeout: .seconds(30)) { try fixture.storedOffsets() == [0: 2] }
        try await running.stop()

        #expect(try fixture.effects() == ["ok": 1])
        #expect(metric(running.runner, "dead_lettered_total") == 1)
        let deadLetters = try await readAll(fixture, topic: fixture.configuration().deadLetterTopic(service: "test"), count: 1)
        let letter = try #require(deadLetters.first)
        #expect(letter.value.isEmpty)
        #expect(letter.key == Array("huge".utf8))
        #expect(letter.headers.first("ce_id")?.stringValue == "huge")
        #expect(letter.headers.first("hookline-dlq-reason")?.stringValue?.hasPrefix("permanent") == true)
        #expect(letter.headers.first("hookline-dlq-source-topic")?.stringValue == fixture.topic)
        #expect(letter.headers.first("hookline-dlq-source-offset")?.stringValue == "0")
        let omitted = try #require(letter.headers.first("hookline-dlq-payload-omitted")?.stringValue)
        #expect(omitted.contains("999800 bytes") && omitted.contains("\(fixture.topic)/0/0"), "\(omitted)")
    }

    @Test("a dead letter the producer refuses every time holds its record: each failure is counted, no offset past the record is stored, nothing after it is applied")
    func deadLetterRefused() async throws {
        let directory = try TemporaryDirectory()
        var fixture = try await ConsumerFixture(
            broker: try await TestKafka.broker(),
            directory: directory,
            handlers: ["test.refused": LongRefusalHandler()]
        )
        // librdkafka's smallest message.max.bytes, for the service's clients (the dead-letter
        // producer among them), not for the test's publisher.
        fixture.kafkaProperties = ["message.max.bytes": "1000"]
        try await fixture.publish(ids: ["first", "poison", "after"], type: "test.refused")

        let running = RunningConsumer(try fixture.runner())
        // Three failures: the record was retried after failing, not skipped.
        try await waitUntil("three failed dead-letter writes counted") {
            metric(running.runner, "dead_letter_failures_total") >= 3
        }
        #expect(try fixture.storedOffsets() == [0: 1])
        try await running.stop()

        #expect(try fixture.storedOffsets() == [0: 1])
        #expect(try fixture.effects() == ["first": 1])
        #expect(metric(running.runner, "dead_lettered_total") == 0)
        #expect(metric(running.runner, "transaction_failures_total") == 0)
    }

    @Test("a dead-letter topic deleted while the service runs is created again by the next dead letter, on a broker that does not create topics itself")
    func deletedDeadLetterTopic() async throws {
        let directory = try TemporaryDirectory()
        var fixture = try await ConsumerFixture(broker: try await TestKafka.broker(), directory: directory, handlers: ["test.json": DecodingHandler()])
        // The embedded broker creates a topic a client asks it to (librdkafka's producer does by
        // default); a broker with auto-creation off is one that is not asked. The producer gives up
        // on a topic the broker does not know after 1 s instead of 30.
        fixture.kafkaProperties = ["allow.auto.create.topics": "false", "topic.metadata.propagation.max.ms": "1000"]
        let deadLetterTopic = fixture.configuration().deadLetterTopic(service: "test")
        let running = RunningConsumer(try fixture.runner())
        try await running.waitUntilReady()
        let admin = try TestKafka.admin(fixture.broker)
        try #require(try await admin.listTopics().contains { $0.name == deadLetterTopic })
        try await admin.deleteTopics([deadLetterTopic])
        try #require(try await !admin.listTopics().contains { $0.name == deadLetterTopic })
        // The producer learns of the deletion at a metadata refresh. Until then the embedded
        // broker, unlike Kafka, acknowledges a record sent to the deleted topic, and drops it.
        try await Task.sleep(for: .seconds(5))

        try await fixture.publish(ids: ["poison"], type: "test.json", body: "{not json")
        try await fixture.publish(ids: ["ok"], type: "test.json")
        try await waitUntil("the stream passed both records", timeout: .seconds(30)) { try fixture.storedOffsets() == [0: 2] }
        try await running.stop()

        #expect(try fixture.effects() == ["ok": 1])
        #expect(metric(running.runner, "dead_lettered_total") == 1)
        let deadLetters = try await readAll(fixture, topic: deadLetterTopic, count: 1)
        #expect(deadLetters.map { $0.headers.first("ce_id")?.stringValue } == ["poison"])
        #expect(deadLetters.first?.value == Array("{not json".utf8))
    }
}

/// Reads a topic from its beginning with a group of its own until `count` records arrived.
func readAll(_ fixture: ConsumerFixture, topic: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerMessage] {
    let consumer = try KafkaConsumer(
        configuration: TestKafka.consumerConfiguration(fixture.broker, group: TestKafka.uniqueName("kit-reader")),
        logger: TestKafka.logger
    )
    try consumer.subscribe(topics: [topic])
    var messages: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count, ContinuousClock.now < deadline {
        messages += await consumer.nextBatch(maxCount: count - messages.count, timeout: .milliseconds(500))
    }
    await consumer.close()
    return messages
}
