import Foundation
import GRDB
import HooklineConfig
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

/// The service executables as an operator runs them: their command line, and their start before
/// the cluster they read.
@Suite("Service executables", .timeLimit(.minutes(3)))
struct ServiceProcessTests {
    @Test("hookline-orders names itself in --help and usage errors; an unknown --log-level is refused, not ignored")
    func commandLine() async throws {
        let binary = try builtExecutable("hookline-orders")
        let help = try await runBinary(binary, arguments: ["--help"], environment: [:])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: hookline-orders"))
        #expect(!help.stdout.contains("consumer_service") && !help.stdout.contains("consumer-service"))
        #expect(help.stdout.contains("critical"), "--help lists the levels")

        let loud = try await runBinary(binary, arguments: ["--log-level", "loud"], environment: [:])
        #expect(loud.status == 64)
        #expect(loud.stderr.contains("hookline-orders") && loud.stderr.contains("--log-level") && loud.stderr.contains("loud"))
    }

    @Test("started before its broker, a service waits for it (serving /healthz, not ready), then consumes what arrives; SIGTERM while waiting exits 0")
    func startsBeforeTheBroker() async throws {
        let directory = try temporaryDirectory()
        let brokerPort = try freeLoopbackPort()
        let servicePort = try freeLoopbackPort()
        let prefix = TestKafka.uniqueName("wh")
        let group = TestKafka.uniqueName("orders")
        let database = directory.appendingPathComponent("orders.sqlite").path
        let config = directory.appendingPathComponent("orders.yaml")
        try """
            kafka: { brokers: "127.0.0.1:\(brokerPort)", topic_prefix: "\(prefix)", session_timeout_ms: 6000 }
            services:
              orders: { group: "\(group)", database: "\(database)" }
            """.write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("orders.log")

        // With no broker at all, SIGTERM stops the wait (in the middle of its first admin request,
        // which would take 10 s to time out) and the process exits 0 at once.
        let early = try startOrders(config: config.path, listen: "127.0.0.1:\(servicePort)", logLevel: "info", log: directory.appendingPathComponent("early.log"))
        defer { if early.isRunning { kill(early.processIdentifier, SIGKILL) } }
        #expect(try await eventually { try await self.status("http://127.0.0.1:\(servicePort)/healthz") == 200 })
        try await Task.sleep(for: .seconds(1))
        let signalled = ContinuousClock.now
        kill(early.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: early) == 0)
        #expect(ContinuousClock.now - signalled < .seconds(3))

        let orders = try startOrders(config: config.path, listen: "127.0.0.1:\(servicePort)", logLevel: "info", log: log)
        defer { if orders.isRunning { kill(orders.processIdentifier, SIGKILL) } }
        #expect(try await eventually { try await self.status("http://127.0.0.1:\(servicePort)/healthz") == 200 })
        #expect(try await eventually { (try? String(contentsOf: log, encoding: .utf8))?.contains("Kafka does not answer yet") == true })
        #expect(orders.isRunning, "the service gave up: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(try await self.status("http://127.0.0.1:\(servicePort)/readyz") == 503)

        // The broker comes up on the configured address; an order sent through a gateway is applied.
        let broker = try await EmbeddedBroker.start(port: brokerPort)
        defer { broker.stop() }
        var configuration = systemConfiguration(broker: broker, directory: directory)
        configuration.kafka.topicPrefix = prefix
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let sample = try #require(WebhookSamples.sample(provider: "hmac-sha256", event: "new_order"))
        #expect(try await deliver(sample, to: gateway) == 202)
        let applied = try await eventually(timeout: .seconds(90)) { self.orderCount(database) == 1 }
        #expect(applied, "no order applied; the service's log: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(try await self.status("http://127.0.0.1:\(servicePort)/readyz") == 200)

        kill(orders.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: orders) == 0)
        await gateway.stop()
        await broker.shutDown()
    }

    // MARK: Helpers

    private func status(_ url: String) async throws -> Int? {
        try? await httpRequest(.GET, url).status
    }

    private func orderCount(_ path: String) -> Int {
        var readOnly = Configuration()
        readOnly.readonly = true
        guard let database = try? DatabaseQueue(path: path, configuration: readOnly) else { return 0 }
        return (try? database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") ?? 0 }) ?? 0
    }
}
