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
        // A build both instances read as pending.
        let database = try await Self.pendingBuild()
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

    /// A database as the service migrates it, holding one pending build recorded now; its path.
    static func pendingBuild() async throws -> String {
        let database = try temporaryDirectory().appendingPathComponent("ci.sqlite").path
        let runner = try ConsumerRunner(
            service: CIService.make(prefix: "webhooks", triggers: true),
            configuration: ConsumerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), groupID: "ci-setup", databasePath: database),
            logger: TestKafka.logger
        )
        let writer = runner.writer
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO builds (repository, ref, sha, trigger, status, attempts, created_at) VALUES ('octo/repo', 'refs/heads/main', ?, 'push', 'pending', 0, ?)",
                arguments: [String(repeating: "a", count: 40), Date().formatted(.iso8601)]
            )
        }
        return database
    }

    /// Runs one trigger on `database` against `server` until `done` holds (or 20 s pass), then
    /// stops it; the build's status and attempts, and when each request arrived.
    static func trigger(
        _ database: String,
        server: LoopbackListener,
        retry: CITrigger.RetryPolicy,
        until done: @escaping @Sendable (Int) -> Bool
    ) async throws -> (status: String, attempts: Int) {
        let trigger = CITrigger(url: "http://127.0.0.1:\(server.port)/builds", writer: try DatabasePool(path: database), logger: TestKafka.logger, retry: retry)
        let group = ServiceGroup(services: [trigger], logger: TestKafka.logger)
        let running = Task { try await group.run() }
        _ = await eventually(timeout: .seconds(20)) { done(server.accepted) }
        await group.triggerGracefulShutdown()
        try await running.value
        var readOnly = Configuration()
        readOnly.readonly = true
        let row = try #require(try DatabaseQueue(path: database, configuration: readOnly).read { db in try Row.fetchOne(db, sql: "SELECT status, attempts FROM builds") })
        return (row["status"], row["attempts"])
    }

    @Test("a CI server refusing a build for a while (503, 401 until its token is rotated, 429) gets it once it takes it, the waits between attempts doubling")
    func retriedUntilTaken() async throws {
        let database = try await Self.pendingBuild()
        let arrivals = Mutex<[ContinuousClock.Instant]>([])
        let server = try LoopbackListener.http { index, _ in
            arrivals.withLock { $0.append(.now) }
            let refusals = [503, 401, 429]
            return (.zero, index < refusals.count ? refusals[index] : 200)
        }
        defer { server.close() }
        let (status, attempts) = try await Self.trigger(database, server: server, retry: .init(first: .milliseconds(300), longest: .seconds(10))) { $0 >= 4 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(status == "triggered")
        #expect(attempts == 4)
        #expect(server.accepted == 4, "the build was sent again after it was taken")
        let times = arrivals.withLock { $0 }
        try #require(times.count == 4)
        let gaps = zip(times, times.dropFirst()).map { $0.duration(to: $1) }
        // At least each wait. Not at most: a full test run on two cores holds the trigger's tasks
        // back by seconds at times; waits far too long would fail the 20 s above.
        for (gap, wait) in zip(gaps, [300, 600, 1200]) {
            #expect(gap >= .milliseconds(wait - 20), "waits \(gaps)")
        }
    }

    @Test("a Retry-After longer than the next wait is kept; a refusal of the request itself (400) is final at once")
    func retryAfterAndFinalRefusals() async throws {
        let database = try await Self.pendingBuild()
        let arrivals = Mutex<[ContinuousClock.Instant]>([])
        let server = try LoopbackListener.http(
            reply: { index, _ in
                arrivals.withLock { $0.append(.now) }
                return (.zero, index == 0 ? 503 : 400)
            },
            headers: { index in index == 0 ? "Retry-After: 2\r\n" : "" }
        )
        defer { server.close() }
        let (status, attempts) = try await Self.trigger(database, server: server, retry: .init(first: .milliseconds(100))) { $0 >= 2 }
        try await Task.sleep(for: .seconds(1))
        #expect(status == "trigger_failed")
        #expect(attempts == 2)
        #expect(server.accepted == 2, "a build refused with 400 was sent again")
        let times = arrivals.withLock { $0 }
        try #require(times.count == 2)
        #expect(times[0].duration(to: times[1]) >= .milliseconds(1980), "Retry-After: 2 was not kept")
    }

    @Test("a build the CI server has not taken within the retry window is trigger_failed, and not sent again")
    func givesUpAfterTheWindow() async throws {
        let database = try await Self.pendingBuild()
        let server = try LoopbackListener.http { _, _ in (.zero, 503) }
        defer { server.close() }
        // Waits of 0.4, 0.8, 1.6 s: the third would end past the 2 s window (counted from the build's
        // creation, to the second), or an earlier one when a full test run holds the trigger back.
        let clock = ContinuousClock()
        let start = clock.now
        let (status, attempts) = try await Self.trigger(database, server: server, retry: .init(first: .milliseconds(400), window: .seconds(2))) { _ in
            clock.now - start > .seconds(6)
        }
        #expect(status == "trigger_failed")
        #expect((1...4).contains(attempts), "\(attempts) attempts")
        #expect(server.accepted == attempts)
    }
}
