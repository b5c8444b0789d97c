import Foundation
import GRDB
import HooklineConfig
import HooklineConsumerKit
import HooklineKafka
import HooklineServices
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

    @Test("started before its broker, a service waits for it (serving /healthz, not ready), then consumes what arrives; SIGTERM while waiting exits 0; a section of a service it does not know (a newer release's) is named in a warning, not fatal")
    func startsBeforeTheBroker() async throws {
        let directory = try temporaryDirectory()
        let brokerPort = try freeLoopbackPort()
        let prefix = TestKafka.uniqueName("wh")
        let group = TestKafka.uniqueName("orders")
        let database = directory.appendingPathComponent("orders.sqlite").path
        let config = directory.appendingPathComponent("orders.yaml")
        try """
            kafka: { brokers: "127.0.0.1:\(brokerPort)", topic_prefix: "\(prefix)", session_timeout_ms: 6000 }
            services:
              orders: { group: "\(group)", database: "\(database)" }
              refunds: { listen: "127.0.0.1:1" }
            """.write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("orders.log")

        // With no broker at all, SIGTERM stops the wait (in the middle of its first admin request,
        // which would take 10 s to time out) and the process exits 0 at once.
        let early = try startOrders(config: config.path, logLevel: "info", log: directory.appendingPathComponent("early.log"))
        defer { if early.isRunning { kill(early.processIdentifier, SIGKILL) } }
        var servicePort = try #require(try await listeningPort(of: early))
        #expect(try await eventually { try await self.status("http://127.0.0.1:\(servicePort)/healthz") == 200 })
        try await Task.sleep(for: .seconds(1))
        let signalled = ContinuousClock.now
        kill(early.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: early) == 0)
        // Not the admin request's 10 s (3 s failed once in a full run on a slower machine).
        #expect(ContinuousClock.now - signalled < .seconds(6))

        let orders = try startOrders(config: config.path, logLevel: "info", log: log)
        defer { if orders.isRunning { kill(orders.processIdentifier, SIGKILL) } }
        servicePort = try #require(try await listeningPort(of: orders))
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
        let applied = await eventually(timeout: .seconds(90)) { self.orderCount(database) == 1 }
        #expect(applied, "no order applied; the service's log: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(try await self.status("http://127.0.0.1:\(servicePort)/readyz") == 200)
        #expect((try? String(contentsOf: log, encoding: .utf8))?.contains("services.refunds: no consumer service of this build has that name") == true)

        kill(orders.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: orders) == 0)
        await gateway.stop()
        await broker.shutDown()
    }

    @Test("--check names what a service would run without contacting the broker or creating its database; a good configuration exits 0")
    func checkPasses() async throws {
        let directory = try temporaryDirectory()
        let database = directory.appendingPathComponent("data/ci.sqlite").path
        let config = directory.appendingPathComponent("ci.yaml")
        try """
            kafka: { brokers: "127.0.0.1:1", topic_prefix: "checked", session_timeout_ms: 6000, properties: { "fetch.wait.max.ms": "50" } }
            services:
              ci: { database: "\(database)", batch_size: 200, topics: ["checked\\\\.github\\\\..*"], trigger_url: "https://ci.example.com/hooks" }
            """.write(to: config, atomically: true, encoding: .utf8)
        let run = try await runBinary(
            try builtExecutable("hookline-ci"),
            arguments: ["--config", config.path, "--check", "--listen", "127.0.0.1:9998"],
            environment: [:]
        )
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("configuration OK"))
        #expect(run.stdout.contains("listen 127.0.0.1:9998"))
        #expect(run.stdout.contains("kafka 127.0.0.1:1 (not contacted), group hookline-ci, session timeout 6000 ms"))
        #expect(run.stdout.contains(#"topics ^checked\.github\..*, dead letters to checked.dlq.ci"#), "\(run.stdout)")
        #expect(run.stdout.contains("database \(database) (to be created), batches of up to 200 events"))
        #expect(run.stdout.contains("build jobs POSTed to https://ci.example.com/hooks"))
        #expect(!run.stderr.contains("Connect to"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data").path), "--check created the database's folder")
    }

    @Test("--check exits 78 and names the field: a librdkafka property, a topic pattern librdkafka would refuse, a trigger URL that is not HTTP, a database under a file")
    func checkFails() async throws {
        let directory = try temporaryDirectory()
        let file = directory.appendingPathComponent("a-file")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let cases: [(kafka: String, ci: String, expected: String)] = [
            (#"properties: { "fetch.wait.max.msx": "50" }"#, "", #"kafka.properties: fetch.wait.max.msx: No such configuration property"#),
            (#"properties: { "max.in.flight": "10" }"#, "", "kafka.properties: `max.in.flight` must be set <= 5 when `enable.idempotence` is true"),
            (#"properties: { "acks": "1" }"#, "", ".yaml: kafka.properties.acks: Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not 1"),
            ("", #"topics: ["webhooks\\.(["]"#, #"services.ci.topics: ^webhooks\.([ is not a regular expression"#),
            ("", #"trigger_url: "ftp://ci.example.com/hooks""#, "services.ci.trigger_url: ftp://ci.example.com/hooks is not an http or https URL"),
            ("", #"database: "\#(file.path)/ci.sqlite""#, "services.ci.database: cannot create \(file.path)/ci.sqlite: \(file.path) is not a directory"),
        ]
        for (kafka, ci, expected) in cases {
            let config = directory.appendingPathComponent("ci-\(UUID().uuidString.prefix(8)).yaml")
            try """
                kafka: { brokers: "127.0.0.1:1"\(kafka.isEmpty ? "" : ", " + kafka) }
                services:
                  ci: { \(ci.hasPrefix("database:") ? ci : #"database: "\#(directory.path)/ci.sqlite""# + (ci.isEmpty ? "" : ", " + ci)) }
                """.write(to: config, atomically: true, encoding: .utf8)
            let run = try await runBinary(try builtExecutable("hookline-ci"), arguments: ["--config", config.path, "--check"], environment: [:])
            #expect(run.status == 78, "\(expected): \(run)")
            // A mistake in the file itself is prefixed with the file's path.
            #expect(run.stderr.contains("configuration invalid: \(expected.hasPrefix(".yaml") ? config.path.dropLast(5) + expected : expected)"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }

        // A misspelt service section would leave its settings unused: refused, whichever service checks.
        let misspelt = directory.appendingPathComponent("misspelt.yaml")
        try """
            kafka: { brokers: "127.0.0.1:1" }
            services:
              ci: { database: "\(directory.path)/ci.sqlite" }
              order: { listen: "0.0.0.0:9999" }
            """.write(to: misspelt, atomically: true, encoding: .utf8)
        let run = try await runBinary(try builtExecutable("hookline-ci"), arguments: ["--config", misspelt.path, "--check"], environment: [:])
        #expect(run.status == 78, "\(run)")
        #expect(run.stderr.contains("configuration invalid: services.order: no consumer service has that name; known: ci, orders, payments"), "\(run.stderr)")
    }

    @Test("the shipped deploy/hookline.yaml passes --check of every executable that reads it, given the environment it names")
    func shippedConfigurationChecks() async throws {
        let path = EmbeddedBroker.packageRoot().appendingPathComponent("deploy/hookline.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // Every ${NAME} without a default must be set; the values only have to exist.
        var environment: [String: String] = [:]
        for match in text.matches(of: /\$\{([A-Z0-9_]+)\}/) {
            environment[String(match.1)] = "check-\(match.1.lowercased())"
        }
        environment["KAFKA_BROKERS"] = "127.0.0.1:1"
        let directory = try temporaryDirectory()
        for executable in ["hookline-gateway", "hookline-orders", "hookline-payments", "hookline-ci", "hookline-monitor"] {
            // Run from a fresh directory, so the services' relative database paths are checked there.
            let run = try await runBinary(try builtExecutable(executable), arguments: ["--config", path, "--check"], environment: environment, directory: directory)
            #expect(run.status == 0, "\(executable): \(run)")
            #expect(run.stdout.hasPrefix("configuration OK"), "\(executable): \(run.stdout)")
        }
    }

    @Test("started with a configuration it cannot use (a property librdkafka refuses, a database file that is not SQLite), a service stops at once with exit 78, before it listens or tries the broker")
    func startRefusesBadConfiguration() async throws {
        let directory = try temporaryDirectory()
        let text = directory.appendingPathComponent("notes.txt")
        try String(repeating: "not a database ", count: 20).write(to: text, atomically: true, encoding: .utf8)
        let cases: [(properties: String, database: String, expected: String)] = [
            (#"{ "fetch.wait.max.msx": "50" }"#, "\(directory.path)/orders.sqlite", "kafka.properties: fetch.wait.max.msx: No such configuration property"),
            ("{}", text.path, "services.orders.database: cannot open \(text.path): SQLite error 26: file is not a database"),
        ]
        for (properties, database, expected) in cases {
            let config = directory.appendingPathComponent("orders-\(UUID().uuidString.prefix(8)).yaml")
            try """
                kafka: { brokers: "127.0.0.1:1", properties: \(properties) }
                services:
                  orders: { database: "\(database)", listen: "127.0.0.1:0" }
                """.write(to: config, atomically: true, encoding: .utf8)
            let run = try await runBinary(try builtExecutable("hookline-orders"), arguments: ["--config", config.path], environment: [:], timeout: .seconds(20))
            #expect(run.status == 78, "\(run)")
            #expect(run.stderr.contains("cannot start: \(expected)"), "\(run.stderr)")
            #expect(!run.stderr.contains("Server started") && !run.stderr.contains("Connect to"), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/orders.sqlite"))
    }

    @Test("with a trigger URL that accepts and never answers, SIGTERM stops hookline-ci within seconds (exit 0), its builds left pending for the next start")
    func ciStopsWhileTriggerHangs() async throws {
        let broker = try await TestKafka.broker()
        let directory = try temporaryDirectory()
        let database = directory.appendingPathComponent("ci.sqlite").path
        let listener = try LoopbackListener()
        defer { listener.close() }

        // Three builds waiting to be sent, in the database as the service migrates it.
        do {
            let runner = try ConsumerRunner(
                service: CIService.make(prefix: "webhooks", triggers: true),
                configuration: ConsumerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), groupID: "ci-setup", databasePath: database),
                logger: TestKafka.logger
            )
            let writer = runner.writer
            try await writer.write { db in
                for index in 1...3 {
                    try db.execute(
                        sql: "INSERT INTO builds (repository, ref, sha, trigger, status, attempts, created_at) VALUES ('octo/repo', 'refs/heads/main', ?, 'push', 'pending', 0, '2024-05-14T09:26:35Z')",
                        arguments: [String(repeating: "\(index)", count: 40)]
                    )
                }
            }
        }
        let config = directory.appendingPathComponent("ci.yaml")
        try """
            kafka: { brokers: "\(broker.bootstrapServers)", topic_prefix: "\(TestKafka.uniqueName("wh"))", session_timeout_ms: 6000 }
            services:
              ci: { group: "\(TestKafka.uniqueName("ci"))", database: "\(database)", trigger_url: "http://127.0.0.1:\(listener.port)/builds" }
            """.write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("ci.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("hookline-ci"))
        process.arguments = ["--config", config.path, "--listen", "127.0.0.1:0", "--log-level", "info"]
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // SIGTERM while the first build's POST waits for an answer that never comes.
        #expect(await eventually(timeout: .seconds(20)) { listener.accepted > 0 }, "no trigger POST arrived")
        try await Task.sleep(for: .milliseconds(500))
        let signalled = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        let status = await exitStatus(of: process, within: .seconds(15))
        #expect(status == 0, "exit \(status.map(String.init) ?? "none within 15 s (killed)"); log: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(ContinuousClock.now - signalled < .seconds(15))

        var readOnly = Configuration()
        readOnly.readonly = true
        let builds = try await DatabaseQueue(path: database, configuration: readOnly).read { db in
            try Row.fetchAll(db, sql: "SELECT status, attempts FROM builds ORDER BY id").map { ($0["status"] as String, $0["attempts"] as Int) }
        }
        #expect(builds.map(\.0) == ["pending", "pending", "pending"])
        #expect(builds.map(\.1) == [0, 0, 0], "a POST cut short by the shutdown counted as an attempt")
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
