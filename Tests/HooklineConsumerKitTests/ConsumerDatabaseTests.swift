import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing

@testable import HooklineConsumerKit

@Suite("consumer database")
struct ConsumerDatabaseTests {
    @Test("pruning removes the processed ids older than the retention, and keeps the younger ones")
    func pruneByAge() async throws {
        let directory = try TemporaryDirectory()
        let service = ConsumerService(name: "test", topicPatterns: ["^t$"], handlers: [:], migrations: RecordingHandler.migrations)
        let database = try ConsumerDatabase(path: directory.path("prune.sqlite"), service: service)
        let now = Date()
        let ages: [(id: String, seconds: Double)] = [("week-old", 7 * 86_400), ("just-over", 3_601), ("just-under", 3_599), ("new", 0)]
        try await database.pool.write { db in
            for (id, seconds) in ages {
                try db.execute(
                    sql: "INSERT INTO processed_events (event_source, event_id, processed_at) VALUES ('/webhooks/t', ?, ?)",
                    arguments: [id, now.timeIntervalSince1970 - seconds]
                )
            }
        }

        #expect(try await database.pruneProcessedEvents(olderThan: .seconds(3600), now: now) == 2)
        let left = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM processed_events ORDER BY event_id") }
        #expect(left == ["just-under", "new"])
        #expect(try await database.pruneProcessedEvents(olderThan: .seconds(3600), now: now) == 0)
    }

    /// Instances of a service share its database file, and a deployment starts them together: each
    /// reads which migrations the file has, then runs the others one transaction each, so the one
    /// that waited for the other's first transaction used to run it again and fail.
    @Test("two instances opening a new database file at the same moment both start")
    func concurrentFirstOpen() throws {
        let directory = try TemporaryDirectory()
        let service = ConsumerService(name: "test", topicPatterns: ["^t$"], handlers: [:], migrations: RecordingHandler.migrations)
        for round in 0..<100 {
            let path = directory.path("round-\(round).sqlite")
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                do {
                    _ = try ConsumerDatabase(path: path, service: service)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round)")
        }
    }
}
