import Dispatch
import Foundation
import Synchronization
import Testing

@testable import HooklineConsumerKit

@Suite("consumer database")
struct ConsumerDatabaseTests {
    /// Instances of a service share its database file, and a deployment starts them together: each
    /// reads which migrations the file has, then runs the others one transaction each, so the one
    /// that waited for the other's first transaction used to run it again and fail.
    @Test("two instances opening a new database file at the same moment both start")
    func concurrentFirstOpen() throws {
        let directory = try TemporaryDirectory()
        let service = ConsumerService(name: "test", topicPatterns: ["^t$"], handlers: [:], migrations: RecordingHandler.migrations)
        for round in 0..<30 {
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
