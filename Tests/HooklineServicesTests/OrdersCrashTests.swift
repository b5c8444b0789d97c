import Foundation
import GRDB
import HooklineConfig
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

@Suite("orders survives SIGKILL", .timeLimit(.minutes(4)))
struct OrdersCrashTests {
    @Test("killed with SIGKILL at five moments of a 2,000-event stream and restarted: exactly 2,000 orders, none applied twice")
    func sigkillFiveTimes() async throws {
        let broker = try await TestKafka.broker()
        let directory = try temporaryDirectory()
        var configuration = systemConfiguration(broker: broker, directory: directory)
        configuration.services["orders"]?.batchSize = 25  // many small batches: kills land mid-stream
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }

        let yaml = """
            kafka: { brokers: "\(broker.bootstrapServers)", topic_prefix: "\(configuration.kafka.topicPrefix)", session_timeout_ms: 6000 }
            services:
              orders: { group: "\(configuration.services["orders"]!.group!)", database: "\(configuration.services["orders"]!.database!)", batch_size: 25 }
            """
        let configPath = directory.appendingPathComponent("orders.yaml")
        try yaml.write(to: configPath, atomically: true, encoding: .utf8)
        let path = configuration.services["orders"]!.database!
        /// Reads the service's database from outside (it may not exist yet).
        func query(_ sql: String) -> Int {
            var readOnly = Configuration()
            readOnly.readonly = true
            guard let database = try? DatabaseQueue(path: path, configuration: readOnly) else { return 0 }
            return (try? database.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }) ?? 0
        }
        func appliedCount() throws -> Int { query("SELECT COUNT(*) FROM orders") }

        // 2,000 distinct orders through the gateway while the service is killed and restarted:
        // paced (8 lanes, ~100/s) so kills land mid-stream, and the last 200 held back until
        // every kill has happened, so no kill can come after the stream ended however fast
        // this machine applies events.
        let sample = try #require(WebhookSamples.sample(provider: "hmac-sha256", event: "new_order"))
        let template = String(decoding: sample.body, as: UTF8.self)
        let (tail, releaseTail) = AsyncStream<Void>.makeStream()
        func send(_ indices: Range<Int>) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        for index in indices where index % 8 == lane {
                            let body = template.replacingOccurrences(of: "ord_1001", with: "ord_crash_\(index)")
                            let status = try await deliver(sample, to: gateway, body: Array(body.utf8), id: "crash-\(index)")
                            #expect(status == 202)
                            try await Task.sleep(for: .milliseconds(80))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let sender = Task {
            try await send(0..<1800)
            for await _ in tail { break }
            try await send(1800..<2000)
        }
        defer { sender.cancel() }

        var killedAt: [Int] = []
        var current: Process?
        defer { if let current, current.isRunning { kill(current.processIdentifier, SIGKILL) } }  // a failed run leaves no process
        for round in 0...5 {
            let process = try startOrders(config: configPath.path, log: directory.appendingPathComponent("orders-\(round).log"))
            current = process
            if round == 5 {
                // The last run goes to the end, with the held-back tail of the stream.
                releaseTail.yield()
                try await sender.value
                let deadline = ContinuousClock.now + .seconds(90)
                while try appliedCount() < 2000, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                try await Task.sleep(for: .seconds(1))
                kill(process.processIdentifier, SIGTERM)
                #expect(await exitStatus(of: process) == 0)
                break
            }
            // Kill once this run has applied some more, before it could finish.
            // Each kill a little further on, all before the held-back tail.
            let target = min((killedAt.last ?? 0) + 150, 1700 + round * 20)
            let deadline = ContinuousClock.now + .seconds(60)
            while try appliedCount() < target, ContinuousClock.now < deadline, process.isRunning {
                try await Task.sleep(for: .milliseconds(5))
            }
            kill(process.processIdentifier, SIGKILL)
            _ = await exitStatus(of: process)
            killedAt.append(try appliedCount())
        }

        #expect(killedAt.count == 5)
        #expect(killedAt.allSatisfy { $0 < 2000 }, "a kill came after the stream ended: \(killedAt)")
        let orders = query("SELECT COUNT(*) FROM orders")
        let events = query("SELECT SUM(events) FROM orders")
        let distinctEvents = query("SELECT COUNT(*) FROM orders WHERE events = 1")
        #expect(orders == 2000)
        #expect(events == 2000, "an effect was applied more than once")
        #expect(distinctEvents == 2000)
    }
}
