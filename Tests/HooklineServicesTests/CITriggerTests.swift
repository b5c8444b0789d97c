import Foundation
import GRDB
import HooklineConsumerKit
import HooklineKafka
import HooklineServices
import HooklineTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("CI build trigger", .timeLimit(.minutes(1)))
struct CITriggerTests {
    @Test("two instances sharing a database both send a pending build: the CI server's 503 to one does not undo the other's triggered, and the build is not sent again")
    func twoInstancesOneBuild() async throws {
        let directory = try temporaryDirectory()
        let database = directory.appendingPathComponent("ci.sqlite").path
        // A build both instances read as pending, in the database as the service migrates it.
        do {
            let runner = try ConsumerRunner(
                service: CIService.make(prefix: "webhooks", triggers: true),
                configuration: ConsumerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), groupID: "ci-setup", databasePath: database),
                logger: TestKafka.logger
            )
            let writer = runner.writer
            try await writer.write { db in
                try db.execute(
                    sql: "INSERT INTO builds (repository, ref, sha, trigger, status, attempts, created_at) VALUES ('octo/repo', 'refs/heads/main', ?, 'push', 'pending', 0, '2024-05-14T09:26:35Z')",
                    arguments: [String(repeating: "a", count: 40)]
                )
            }
        }
        // The first POST is accepted after 1 s, the second refused (503) after 2 s, when the first
        // instance has recorded its success; any later one is refused at once.
        let keys = Mutex<[String]>([])
        let server = try LoopbackListener.http { index, head -> (delay: Duration, status: Int) in
            keys.withLock { $0 += head.split(separator: "\r\n").filter { $0.hasPrefix("idempotency-key:") }.map(String.init) }
            return switch index {
            case 0: (.seconds(1), 200)
            case 1: (.seconds(2), 503)
            default: (.zero, 503)
            }
        }
        defer { server.close() }
        let url = "http://127.0.0.1:\(server.port)/builds"
        let instances = try (0..<2).map { _ in CITrigger(url: url, writer: try DatabasePool(path: database), logger: TestKafka.logger) }
        let group = ServiceGroup(services: instances, logger: TestKafka.logger)
        let running = Task { try await group.run() }

        #expect(await eventually(timeout: .seconds(10)) { server.accepted >= 2 }, "both instances should send the build")
        // Past the 503, and past the retry a build left pending would get (400 ms after it).
        try await Task.sleep(for: .seconds(4))
        await group.triggerGracefulShutdown()
        try await running.value

        var readOnly = Configuration()
        readOnly.readonly = true
        let row = try DatabaseQueue(path: database, configuration: readOnly).read { db in
            try Row.fetchOne(db, sql: "SELECT status, attempts FROM builds")
        }
        let build = try #require(row)
        #expect(build["status"] as String == "triggered")
        #expect(build["attempts"] as Int == 1)
        #expect(server.accepted == 2, "the build was sent again after it was triggered")
        // Both sends under the build's own key, not its row id, which a database rebuilt from the
        // topics gives out again to other builds.
        let expected = CIService.idempotencyKey(repository: "octo/repo", sha: String(repeating: "a", count: 40), trigger: "push")
        #expect(keys.withLock { $0 } == Array(repeating: "idempotency-key: \(expected)", count: 2))
        #expect(expected.hasPrefix("hookline-ci-") && expected.count == "hookline-ci-".count + 32)
        #expect(expected != CIService.idempotencyKey(repository: "octo/repo", sha: String(repeating: "a", count: 40), trigger: "pull_request"))
    }
}
