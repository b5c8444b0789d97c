import Foundation
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
@testable import HooklineGateway
import Testing

@Suite("The topics a gateway creates", .timeLimit(.minutes(3)))
struct GatewayTopicTests {
    @Test("a webhook's topic is created with kafka.partitions and kafka.topic_config, and the max.message.bytes its largest record needs unless that says otherwise; with replication -1, the default, the cluster takes the creation")
    func createdWithTheConfiguredTopicConfig() async throws {
        let broker = try await TestKafka.broker()
        var configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])])
        #expect(configuration.kafka.replicationFactor == -1)
        configuration.kafka.partitions = 5
        configuration.kafka.topicConfig = ["retention.ms": "86400000", "min.insync.replicas": "1"]
        configuration.gateway.maxBodyBytes = 2_000_000
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let admin = try TestKafka.admin(broker)

        let accepted = try await post(gateway, source: "github", provider: "github", secret: "s3cret", body: githubPush, event: "push", id: "configured")
        #expect(accepted.status == 202, "\(accepted.text)")
        let topic = "\(configuration.kafka.topicPrefix).github.push"
        #expect(try await admin.listTopics().first { $0.name == topic }?.partitions == [0, 1, 2, 3, 4])
        let config = try await admin.topicConfig(topic)
        #expect(config["retention.ms"] == "86400000")
        #expect(config["min.insync.replicas"] == "1")
        #expect(config["max.message.bytes"] == String(configuration.gateway.largestRecordBytes))

        // The file's own max.message.bytes wins.
        var overridden = configuration
        overridden.kafka.topicPrefix = TestKafka.uniqueName("wh")
        overridden.kafka.topicConfig["max.message.bytes"] = "3000000"
        let second = try await RunningGateway.start(overridden)
        defer { Task { await second.stop() } }
        let published = try await post(second, source: "github", provider: "github", secret: "s3cret", body: githubPush, event: "push", id: "overridden")
        #expect(published.status == 202, "\(published.text)")
        #expect(try await admin.topicConfig("\(overridden.kafka.topicPrefix).github.push")["max.message.bytes"] == "3000000")
    }

    @Test("a creation refused for a topic that exists leaves the topic in use; for one that does not, it fails (refused here by librdkafka, as a cluster refuses a gateway allowed to write but not to create)")
    func refusedCreationOfAnExistingTopic() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let existing = TestKafka.uniqueName("made-by-operators")
        try await admin.createTopics([.init(name: existing, partitions: 2)])
        // Refused here by librdkafka itself (-2 partitions): the embedded broker has no ACLs to
        // refuse it as a cluster without CREATE permission does.
        let catalog = TopicCatalog(admin: admin, partitions: -2, replicationFactor: -1, logger: TestKafka.logger)

        try await catalog.ensure(existing, before: .now + .seconds(10))
        #expect(catalog.isKnown(existing))
        let missing = TestKafka.uniqueName("nobody-made")
        await #expect(throws: KafkaError.self) { try await catalog.ensure(missing, before: .now + .seconds(10)) }
        #expect(!catalog.isKnown(missing))
    }

    @Test("a write failure that says the topic is gone makes the next request wait for its creation; any other keeps the topic known and creates it again in the background, at most once an interval")
    func writeFailures() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let interval = Duration.seconds(5)
        let catalog = TopicCatalog(admin: admin, partitions: 2, replicationFactor: 1, recheckInterval: interval, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("recheck")
        // The catalog notes its creation between these two instants (the second can come well
        // after it on a busy machine, as a task waits for a thread).
        let asked = ContinuousClock.now
        try await catalog.ensure(topic, before: .now + .seconds(10))
        let created = ContinuousClock.now
        try await admin.deleteTopics([topic])
        func exists() async throws -> Bool { try await admin.listTopics().contains { $0.name == topic } }
        #expect(try await !exists())

        // Too soon after its creation: nothing is asked of the broker. (Unless this machine took
        // most of the interval to create and delete the topic: then that cannot be told here.)
        catalog.writeFailed(topic, code: .messageTimedOut)
        if asked.duration(to: .now) < interval - .milliseconds(500) {
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await !exists())
        }
        #expect(catalog.isKnown(topic))
        // Past the interval: created again in the background, and still known meanwhile.
        try await Task.sleep(until: created + interval, clock: .continuous)
        catalog.writeFailed(topic, code: .queueFull)
        #expect(catalog.isKnown(topic))
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !exists(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await exists())

        for code in [KafkaError.Code.unknownTopicOrPartition, .unknownTopic, .unknownPartition] {
            catalog.writeFailed(topic, code: code)
            #expect(!catalog.isKnown(topic), "\(code)")
            try await catalog.ensure(topic, before: .now + .seconds(10))
            #expect(catalog.isKnown(topic))
        }
    }
}
