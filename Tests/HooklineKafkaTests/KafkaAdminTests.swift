import Foundation
import HooklineKafka
import HooklineTestSupport
import Testing

@Suite("Admin client and producer failures", .timeLimit(.minutes(2)))
struct KafkaAdminTests {
    @Test("topic creation is idempotent and lists the partitions asked for")
    func createTopicsIsIdempotent() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("admin")
        try await admin.createTopics([.init(name: topic, partitions: 3)])
        try await admin.createTopics([.init(name: topic, partitions: 3)])
        let listed = try await admin.listTopics().first { $0.name == topic }
        #expect(listed?.partitions == [0, 1, 2])
    }

    /// What README.md and docs/monitoring.md say of the embedded broker: the end offset it lists
    /// is the last batch's first offset + 1, so after a burst far below what the log holds; the
    /// admin client finds the true end with a fetch (`EndOffsetProbe`), at both isolation levels.
    /// The first expectation fails, and those docs want changing, once the broker lists the true end.
    @Test("after a burst the embedded broker lists an end far below the records it holds, and the admin client finds the true one")
    func embeddedBrokerEndAfterABurst() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let asListed = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), checksDatedEnds: false, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("burst")
        try await admin.createTopics([.init(name: topic, partitions: 2)])
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), linger: .milliseconds(50)),
            logger: TestKafka.logger
        )
        for index in 0..<3 { _ = try await producer.send(topic: topic, key: Array("one".utf8), value: Array("single-\(index)".utf8)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 { group.addTask { _ = try await producer.send(topic: topic, key: Array("one".utf8), value: Array("burst-\(index)".utf8)) } }
            try await group.waitForAll()
        }
        await producer.shutdown()
        let metadata = try #require(try await admin.listTopics().first { $0.name == topic })
        let written = metadata.topicPartitions
        // Every record went to one partition (one key); which one is the partitioner's.
        let ends = try await asListed.listOffsets(written, .latest, isolationLevel: .readUncommitted)
        let full = try #require(ends.first { $0.value > 0 }?.key)
        let listed = try #require(ends[full])
        #expect(listed > 3 && listed < 203, "listed end \(listed)")

        for level in [KafkaIsolationLevel.readUncommitted, .readCommitted] {
            let found = try await admin.listOffsets(written, .latest, isolationLevel: level)
            #expect(found[full] == 203, "\(level)")
            // The partition with no record is not dated, and stays at 0.
            #expect(found.filter { $0.key != full }.values.allSatisfy { $0 == 0 }, "\(found)")
        }
        #expect(try await admin.watermarks(topics: [metadata], isolationLevel: .readUncommitted)[full]?.end == 203)

        // All 203 records are there to read.
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("burst")), logger: TestKafka.logger)
        try consumer.subscribe(topics: [topic])
        #expect(await read(consumer, count: 203).count == 203)
        await consumer.close()
    }

    @Test("lag computed as end offset minus committed equals what was left unconsumed")
    func lagMatchesUnconsumed() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("lag")
        let group = TestKafka.uniqueName("lag")
        try await admin.createTopics([.init(name: topic, partitions: 2)])
        _ = try await produceNumbered(broker, topic: topic, count: 50)

        let metadata = try #require(try await admin.listTopics().first { $0.name == topic })
        let watermarks = try await admin.watermarks(topics: [metadata], isolationLevel: .readUncommitted)
        #expect(watermarks.values.map(\.earliest).allSatisfy { $0 == 0 })
        #expect(watermarks.values.map(\.end).reduce(0, +) == 50)

        // Before anything is committed the group has no offsets at all.
        #expect(try await admin.committedOffsets(group: group).isEmpty)

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), logger: TestKafka.logger)
        try consumer.subscribe(topics: [topic])
        let consumed = await read(consumer, count: 20)
        try #require(consumed.count == 20)
        try await consumer.commit(after: consumed)

        let committed = try await admin.committedOffsets(group: group)
        let lag = watermarks.reduce(Int64(0)) { total, entry in
            total + entry.value.end - (committed[entry.key] ?? entry.value.earliest)
        }
        // What is unconsumed: 50 written minus the 20 whose commit covers them.
        #expect(lag == 30)
        // The committed offsets are exactly one past the last record consumed on each partition.
        for (partition, messages) in Dictionary(grouping: consumed, by: \.topicPartition) {
            #expect(committed[partition] == messages.map(\.offset).max()! + 1)
        }
        #expect(try await consumer.committed(Array(committed.keys)).mapValues { $0 } == committed.mapValues { Optional($0) })

        let groups = try await admin.listConsumerGroups()
        #expect(groups.contains { $0.groupID == group })
        let description = try #require(try await admin.describeConsumerGroups([group]).first)
        // (The embedded broker does not report members' assignments, so only the count is checked.)
        #expect(description.members.count == 1)
        await consumer.close()

        // With the group stopped, its offsets can be moved (what `hookline replay` does).
        try await admin.alterCommittedOffsets(group: group, offsets: [TopicPartition(topic: topic, partition: 0): 0])
        #expect(try await admin.committedOffsets(group: group)[TopicPartition(topic: topic, partition: 0)] == 0)
    }

    @Test("offsets by timestamp: the first record at or after the time, -1 past the last record")
    func offsetsByTimestamp() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("by-time")
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        let producer = try TestKafka.producer(broker)
        for index in 0..<3 {
            _ = try await producer.send(topic: topic, value: Array("early-\(index)".utf8))
        }
        try await Task.sleep(for: .milliseconds(50))
        let between = Int64(Date().timeIntervalSince1970 * 1000)
        try await Task.sleep(for: .milliseconds(50))
        for index in 0..<2 {
            _ = try await producer.send(topic: topic, value: Array("late-\(index)".utf8))
        }
        await producer.shutdown()

        let partition = TopicPartition(topic: topic, partition: 0)
        let atStart = try await admin.listOffsets([partition], .timestamp(0), isolationLevel: .readUncommitted)
        let atBetween = try await admin.listOffsets([partition], .timestamp(between), isolationLevel: .readUncommitted)
        let afterAll = try await admin.listOffsets([partition], .timestamp(between + 3_600_000), isolationLevel: .readUncommitted)
        #expect(atStart[partition] == 0)
        #expect(atBetween[partition] == 3)
        #expect(afterAll[partition] == -1)
    }

    @Test("offsets per partition: a partition that cannot be read fails alone and the others answer; the strict list names it")
    func onePartitionFailsAlone() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("each")
        let empty = TestKafka.uniqueName("each-empty")
        try await admin.createTopics([.init(name: topic, partitions: 1), .init(name: empty, partitions: 1)])
        let producer = try TestKafka.producer(broker)
        for index in 0..<3 { _ = try await producer.send(topic: topic, value: Array("r-\(index)".utf8)) }
        await producer.shutdown()

        let readable = [TopicPartition(topic: topic, partition: 0), TopicPartition(topic: empty, partition: 0)]
        let missing = TopicPartition(topic: topic, partition: 7)
        let each = try await admin.listOffsetsOfEach(readable + [missing], .latest, isolationLevel: .readCommitted)
        #expect(try (each[readable[0]]?.get() ?? 0) > 0)
        #expect(try each[readable[1]]?.get() == 0)
        guard case .failure(let error) = each[missing] else {
            Issue.record("partition 7 of a 2-partition topic answered \(String(describing: each[missing]))")
            return
        }
        #expect(error.code == .unknownPartition)
        await #expect(throws: KafkaError.self) { try await admin.listOffsets(readable + [missing], .latest, isolationLevel: .readCommitted) }
    }

    /// librdkafka 2.4 to 2.9 leave a topic's old cache entry, freed, in their by-topic-id tree
    /// when the topic comes back under its name with a new id (confluentinc/librdkafka#4964):
    /// later lookups read freed memory. Setup builds librdkafka with a fix
    /// (scripts/patches/librdkafka-metadata-cache-topic-id.patch). Without it, the second round's
    /// offset lookup timed out here in 6 runs of 7, and 4 of 4 with MALLOC_PERTURB_ set; the
    /// monitor, which looks at every topic, died of the same entry (SIGSEGV in
    /// `rd_avl_insert_node`).
    @Test("topics deleted and created again under their names, round after round, leave the client's metadata cache whole")
    func topicsRecreatedUnderTheirNames() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let producer = try TestKafka.producer(broker)
        let names = (0..<6).map { _ in TestKafka.uniqueName("recreated") }
        for round in 0..<25 {
            try await admin.createTopics(names.map { .init(name: $0, partitions: 1) })
            // A full metadata look (every topic) updates the entries the cache already has: at
            // each round after the first, the topics as they were before they were deleted.
            let listed = try await admin.listTopics().filter { names.contains($0.name) }
            #expect(listed.count == names.count, "round \(round)")
            // Looking up these topics by name caches them with their new ids, as the producer
            // does for the topics it writes to.
            do {
                _ = try await admin.watermarks(topics: listed, isolationLevel: .readUncommitted)
            } catch {
                Issue.record(error, "round \(round)")
                break
            }
            for name in names { _ = try await producer.send(topic: name, value: Array("round \(round)".utf8)) }
            // Deleted, and created again at the next round, without either client looking.
            try await admin.deleteTopics(names)
        }
        await producer.shutdown()
    }

    /// What README.md says of the embedded broker: a topic deleted there still takes writes under
    /// its name, acknowledged, while the cluster's metadata no longer lists the topic and no reader
    /// can reach them. Kafka refuses them (UNKNOWN_TOPIC_OR_PARTITION), which a gateway answers 503
    /// before creating the topic again.
    /// Fails, and the README wants changing, once the broker refuses them too.
    @Test("the embedded broker acknowledges writes to a deleted topic that no reader can reach")
    func embeddedBrokerTakesWritesToADeletedTopic() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("deleted")
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        let producer = try TestKafka.producer(broker)
        _ = try await producer.send(topic: topic, value: Array("before".utf8))
        try await admin.deleteTopics([topic])
        #expect(try await admin.listTopics().allSatisfy { $0.name != topic })
        // Acknowledged (a refusal throws), three times over.
        for index in 0..<3 { _ = try await producer.send(topic: topic, value: Array("after \(index)".utf8)) }
        #expect(try await admin.listTopics().allSatisfy { $0.name != topic }, "and still not in the metadata")
        await producer.shutdown()
    }

    @Test("a producer pointed at a closed port fails within its message timeout with a clear error")
    func closedPortFailsInTime() async throws {
        let port = try freeLoopbackPort()
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:\(port)"),
                messageTimeout: .seconds(2)
            ),
            logger: TestKafka.logger
        )
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(topic: "nowhere", value: Array("x".utf8))
        }
        let elapsed = clock.now - start
        #expect(error?.code == .messageTimedOut)
        #expect(error?.isRetriable == true)
        #expect(error?.description.contains("producing to nowhere") == true)
        #expect(elapsed >= .seconds(1.5))
        #expect(elapsed < .seconds(5))
        await producer.shutdown()
    }

    @Test("each send fails at its own deadline, counted from its start, whatever order the sends came in")
    func perSendDeadlines() async throws {
        let port = try freeLoopbackPort()
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:\(port)"), messageTimeout: .seconds(30)),
            logger: TestKafka.logger
        )
        let clock = ContinuousClock()
        let start = clock.now
        @Sendable func failure(timeout: Duration, since: ContinuousClock.Instant) async -> (KafkaError.Code?, Duration) {
            do {
                _ = try await producer.send(topic: "nowhere", value: [1], timeout: timeout, since: since)
                return (nil, clock.now - start)
            } catch {
                return (error.code, clock.now - start)
            }
        }
        // First a send with 6 s to go; then one with the same timeout whose clock started 5 s
        // ago (a request that took long to arrive), and one with a shorter timeout of its own.
        async let late = failure(timeout: .seconds(6), since: start)
        try await Task.sleep(for: .milliseconds(100))
        async let started = failure(timeout: .seconds(6), since: start - .seconds(5))
        async let short = failure(timeout: .seconds(2), since: clock.now)
        let (startedResult, shortResult, lateResult) = await (started, short, late)

        #expect(startedResult.0 == .messageTimedOut)
        #expect(shortResult.0 == .messageTimedOut)
        #expect(lateResult.0 == .messageTimedOut)
        // Due at 1 s and 2.1 s: the first before the 6 s of the send tracked ahead of it, the
        // second well before librdkafka's own 30 s (slack for a loaded machine: 5 s failed once
        // in a full run on a slower one).
        #expect(startedResult.1 >= .seconds(1) && startedResult.1 < .seconds(5.5))
        #expect(shortResult.1 >= .seconds(2) && shortResult.1 < .seconds(10))
        #expect(lateResult.1 >= .seconds(6) && lateResult.1 < .seconds(10))
        await producer.shutdown(timeout: .seconds(1))
    }

    // The task pool has one thread per core. Admin requests waiting on Dispatch's global queue
    // held it for the whole request timeout, and every test's deadlines came late (the test above
    // failed CI that way).
    @Test("admin requests waiting out a broker that does not answer hold no thread of the task pool")
    func waitingHoldsNoPoolThread() async throws {
        let admin = try adminOfNoBroker(requestTimeout: .seconds(6))
        let waits = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        let overshoot = await withTaskGroup(of: Void.self) { group in
            for _ in 0..<waits {
                group.addTask { _ = try? await admin.listTopics() }
            }
            return await sleepOvershoot(.milliseconds(500))
        }
        // Held threads would make it at least 5.5 s late. A full parallel run on a loaded machine
        // made it 1.08 s late without them (the bound was 1 s then, with a 3 s request timeout).
        #expect(overshoot < .seconds(2.5))
    }

    // A consumer service asked to stop while its broker does not answer waited out the whole
    // request timeout (10 s by default) before exiting.
    @Test("cancelling the task of an admin request that waits for a broker stops the wait at once")
    func cancelledRequestStopsWaiting() async throws {
        let admin = try adminOfNoBroker(requestTimeout: .seconds(20))
        let clock = ContinuousClock()
        let request = Task {
            try await admin.createTopics([KafkaAdmin.NewTopic(name: "never")])
        }
        try await Task.sleep(for: .milliseconds(500))
        let cancelledAt = clock.now
        request.cancel()
        let result = await request.result
        // Alone it ends about 10 ms after the cancel; in a full run on 2 cores it once took 1.6 s
        // to get back. Either way far from the 20 s the request would have waited.
        #expect(clock.now - cancelledAt < .seconds(5))
        guard case .failure(let error) = result else {
            Issue.record("the request succeeded against a closed port")
            return
        }
        #expect((error as? KafkaError)?.code == .interrupted)
    }

    // Linux drops a thread name longer than 15 bytes: the producer's delivery-report thread
    // showed as Dispatch's `oot.default-qos` in `top -H` and `perf`.
    @Test("the producer's and the admin client's own threads carry their names")
    func threadNames() async throws {
        let port = try freeLoopbackPort()
        let kafka = KafkaConfiguration(bootstrapServers: "127.0.0.1:\(port)")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: TestKafka.logger)
        let admin = try KafkaAdmin(configuration: kafka, logger: TestKafka.logger)
        // A thread names itself once it runs.
        let named = try await eventually(timeout: .seconds(5)) {
            // A thread of another test may end between the listing and the read: it has no name to give.
            let names = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
                try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return names.contains("kafka-producer") && names.contains("kafka-admin")
        }
        #expect(named)
        withExtendedLifetime(admin) {}
        await producer.shutdown(timeout: .seconds(1))
    }

    @Test("a send after shutdown fails at once instead of hanging")
    func sendAfterShutdownFails() async throws {
        let broker = try await TestKafka.broker()
        let producer = try TestKafka.producer(broker)
        await producer.shutdown()
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(topic: "anything", value: Array("x".utf8))
        }
        #expect(error?.code == .closed)
    }
}

/// An admin client pointed at a loopback port nothing listens on.
private func adminOfNoBroker(requestTimeout: Duration) throws -> KafkaAdmin {
    try KafkaAdmin(
        configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:\(try freeLoopbackPort())"),
        requestTimeout: requestTimeout,
        logger: TestKafka.logger
    )
}

/// How much later than asked a sleep resumed: how long the task pool kept this task waiting.
private func sleepOvershoot(_ duration: Duration) async -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    try? await Task.sleep(for: duration)
    return clock.now - start - duration
}
