import Foundation
import HTTPTypes
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The real `hookline-gateway` executable, started as its own process.
struct GatewayProcess {
    let process: Process
    let port: Int
    let log: URL
    /// The configuration file it was started with (a test may rewrite it and send SIGHUP).
    let config: URL

    static func binary() throws -> String {
        try builtExecutable("hookline-gateway")
    }

    /// Starts the gateway on `yaml` with `environment` added to this process's, logging at
    /// `logLevel` to ``log``; with `openFiles`, under that soft and hard limit on open files.
    /// It listens on a loopback port of its own choosing (``port``); returns once it answers there.
    static func start(
        yaml: String,
        logLevel: String = "warning",
        environment: [String: String] = [:],
        openFiles: (soft: Int, hard: Int)? = nil
    ) async throws -> GatewayProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("gateway"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("hookline.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("gateway.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try self.binary())
        process.arguments = ["--config", config.path, "--listen", "127.0.0.1:0", "--log-level", logLevel]
        if let openFiles {
            // util-linux's prlimit sets the limits and then executes the gateway (the same process).
            process.arguments = ["--nofile=\(openFiles.soft):\(openFiles.hard)", process.executableURL!.path] + process.arguments!
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        if let port = try await listeningPort(of: process) {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, process.isRunning {
                // A connection of its own, closed after: a test starts from a gateway without any.
                let probe = try? await httpRequest(.GET, "http://127.0.0.1:\(port)/healthz", headers: [.connection: "close"], timeout: .seconds(1))
                if probe?.status == 200 { return GatewayProcess(process: process, port: port, log: log, config: config) }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        process.terminate()
        throw EmbeddedBrokerError(message: "the gateway did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// Starts a gateway with one source, `github`, whose secret is `secret`;
    /// `kafka` and `gateway` are added to those sections (YAML flow-mapping members).
    static func github(broker: EmbeddedBroker, prefix: String, secret: String, kafka: String, gateway: String) async throws -> GatewayProcess {
        try await self.start(
            yaml: """
                kafka: { brokers: "\(broker.bootstrapServers)", topic_prefix: "\(prefix)", \(kafka) }
                gateway: { \(gateway) }
                sources:
                  github: { provider: github, secrets: ["\(secret)"] }
                """
        )
    }
}

@Suite("Gateway process shutdown", .timeLimit(.minutes(2)))
struct GatewayShutdownTests {
    @Test("SIGTERM under load: it answers the requests it holds, every acknowledged request is in Kafka, and it exits 0")
    func sigtermLosesNoAcknowledgedRequest() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("term")
        let gateway = try await GatewayProcess.github(
            broker: broker, prefix: prefix, secret: "term-secret",
            kafka: #"partitions: 3, properties: { "linger.ms": "300", "batch.num.messages": "10000" }"#,
            gateway: "shutdown_grace_ms: 5000"
        )
        let port = gateway.port
        defer { if gateway.process.isRunning { gateway.process.terminate() } }

        let outcome = LoadOutcome()
        let url = "http://127.0.0.1:\(port)/webhooks/github"
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                // 8 clients: the shared HTTP client keeps 8 connections to a host, so each
                // client's request is on the wire as soon as it starts, not queued in the pool.
                for client in 0..<8 {
                    group.addTask {
                        var sequence = 0
                        while !outcome.stopped, sequence < 5000 {
                            sequence += 1
                            let id = "term-\(client)-\(sequence)"
                            let start = ContinuousClock.now
                            do {
                                let signed = try WebhookProviders.sign(
                                    provider: "github",
                                    WebhookSigningInput(secret: "term-secret", body: githubPush, event: "push", id: id, timestamp: 0)
                                )
                                let response = try await httpRequest(.POST, url, headers: signed.headerFields, body: githubPush, timeout: .seconds(10))
                                outcome.record(id, response.status == 202 ? .acknowledged : .refused(status: response.status), start: start)
                            } catch {
                                outcome.record(id, .failed("\(error)"), start: start)
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
            }
        }

        // Every record waits up to 300 ms for its batch (linger.ms), so at most moments most
        // clients have a request the gateway holds. Signal once the load is well under way (on a
        // loaded machine that takes longer), at a moment the gateway itself counts at least 6
        // records waiting for their acknowledgement, and 40 ms later, so that those requests were
        // sent well before the signal. (Timing the signal from the acknowledgements the clients
        // saw left as few as 2 requests held under a full test run's load.)
        let warm = ContinuousClock.now + .seconds(20)
        while outcome.acknowledged.count < 100, ContinuousClock.now < warm {
            try await Task.sleep(for: .milliseconds(50))
        }
        let holding = ContinuousClock.now + .seconds(10)
        while try await recordsInFlight(at: "http://127.0.0.1:\(port)") ?? 0 < 6, ContinuousClock.now < holding {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: .milliseconds(40))
        let acknowledgedBeforeSignal = outcome.acknowledged.count
        // Taken before the signal: the gateway's clocks start after it, so a lower bound holds.
        let signalled = ContinuousClock.now
        kill(gateway.process.processIdentifier, SIGTERM)
        while gateway.process.isRunning, ContinuousClock.now - signalled < .seconds(15) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let exitTime = ContinuousClock.now - signalled
        try await Task.sleep(for: .milliseconds(500))
        outcome.stop()
        await load.value

        #expect(!gateway.process.isRunning)
        #expect(gateway.process.terminationStatus == 0)
        #expect(exitTime < .seconds(8))
        let acknowledged = outcome.acknowledged
        #expect(acknowledgedBeforeSignal > 50, "the load did not get going")

        let messages = try await records(in: "\(prefix).github.push", broker: broker, expect: acknowledged.count)
        let stored = Set(messages.compactMap { $0.headers.string("ce_id") })
        let missing = acknowledged.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged requests are not in Kafka, e.g. \(missing.prefix(3))")

        // Requests sent well before the signal and still unanswered at it were held by the
        // gateway, waiting for their acknowledgement: each gets its 202, none is cut off.
        let held = outcome.requests.filter { $0.start < signalled - .milliseconds(30) && $0.end > signalled }
        #expect(held.count >= 4, "too few requests were in flight at the signal to show anything: \(held.count)")
        let cut = held.filter { !$0.answered }.map { request in
            "sent \(signalled - request.start) before, ended \(request.end - signalled) after: \(request.outcome)"
        }
        #expect(cut.isEmpty, "in flight at the signal and not answered 202: \(cut.count) of \(held.count): \(cut.prefix(4))")
    }

    @Test("SIGTERM with no connection open: the gateway exits 0 at once")
    func sigtermWithoutConnections() async throws {
        let broker = try await TestKafka.broker()
        let gateway = try await GatewayProcess.github(
            broker: broker, prefix: TestKafka.uniqueName("idle"), secret: "idle-secret", kafka: "partitions: 1", gateway: "shutdown_grace_ms: 5000"
        )
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        // The start's probe asked for its connection to be closed; give the close a moment.
        try await Task.sleep(for: .milliseconds(300))
        let signalled = ContinuousClock.now
        kill(gateway.process.processIdentifier, SIGTERM)
        while gateway.process.isRunning, ContinuousClock.now - signalled < .seconds(15) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = (try? String(contentsOf: gateway.log, encoding: .utf8)) ?? ""
        #expect(!gateway.process.isRunning)
        #expect(gateway.process.terminationStatus == 0, "\(log)")
        #expect(ContinuousClock.now - signalled < .seconds(5))
    }

    @Test("SIGTERM while a record waits for its batch: it is sent at once, not after linger.ms, and its request is answered 202 with Connection: close before the gateway exits 0")
    func sigtermSendsLingeringRecords() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("linger")
        // A record waits 60 s for its batch, far past the 5 s grace period.
        let gateway = try await GatewayProcess.github(
            broker: broker, prefix: prefix, secret: "linger-secret",
            kafka: #"partitions: 1, properties: { "linger.ms": "60000" }"#,
            gateway: "ack_timeout_ms: 90000, shutdown_grace_ms: 5000"
        )
        let port = gateway.port
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        let signed = try WebhookProviders.sign(
            provider: "github",
            WebhookSigningInput(secret: "linger-secret", body: githubPush, event: "push", id: "lingering", timestamp: 0)
        )
        let held = Task { try await httpRequest(.POST, "\(base)/webhooks/github", headers: signed.headerFields, body: githubPush, timeout: .seconds(30)) }
        let lingering = try await eventually(timeout: .seconds(20)) {
            try await recordsInFlight(at: base) == 1
        }
        try #require(lingering, "the record never reached the producer")

        // Taken before the signal: the gateway's clocks start after it, so a lower bound holds.
        let signalled = ContinuousClock.now
        kill(gateway.process.processIdentifier, SIGTERM)
        let response = try await held.value
        let answeredAfter = ContinuousClock.now - signalled
        while gateway.process.isRunning, ContinuousClock.now - signalled < .seconds(15) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(response.status == 202, "\(response.text)")
        // Answered during the shutdown: the client is told not to send more on this connection.
        #expect(response.headers[.connection] == "close")
        #expect(answeredAfter < .seconds(4), "answered \(answeredAfter) after the signal")
        #expect(!gateway.process.isRunning)
        #expect(gateway.process.terminationStatus == 0)
        let stored = try await records(in: "\(prefix).github.push", broker: broker, expect: 1)
        #expect(stored.compactMap { $0.headers.string("ce_id") } == ["lingering"])
    }

    @Test("SIGTERM while a webhook's body is still arriving: once the grace period and the service group's 2 s have passed, it is refused 503 incomplete_request, nothing is published, and the gateway exits 0")
    func sigtermCutsOffATricklingWebhook() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("cut")
        // The request timeout would cut it off with a 408 only after 60 s.
        let gateway = try await GatewayProcess.github(
            broker: broker, prefix: prefix, secret: "s3cret",
            kafka: "partitions: 1",
            gateway: "request_timeout_ms: 60000, shutdown_grace_ms: 1000"
        )
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        let push = try signedPushParts(id: "trickled")
        let trickle = Task {
            try await RawHTTPConnection.trickle(port: gateway.port, head: push.head, body: push.body, every: .milliseconds(200), for: .seconds(20))
        }
        try await Task.sleep(for: .seconds(1))  // the head and a few bytes of the body are in

        // Taken before the signal: the gateway's clocks start after it, so a lower bound holds.
        let signalled = ContinuousClock.now
        kill(gateway.process.processIdentifier, SIGTERM)
        let webhook = try await trickle.value
        let cutAfter = ContinuousClock.now - signalled
        #expect(webhook.responses.map(\.status) == [503])
        #expect(webhook.responses.first?.json?["error"] as? String == "incomplete_request")
        #expect(webhook.closed)
        // Grace 1 s + 2 s, with room for a loaded machine; not the 60 s request timeout.
        #expect(cutAfter >= .seconds(3) && cutAfter < .seconds(10), "cut off \(cutAfter) after the signal")
        #expect(await exitStatus(of: gateway.process, within: .seconds(20)) == 0)
        #expect(try await recordCount(prefix: prefix, broker: broker) == 0)
    }

    @Test("SIGTERM with the broker gone and a request waiting for its record: new connections are refused at once, the wait is cut at the grace period plus the service group's 2 s, the flush gets no second grace period, the request gets no 2xx, and the gateway exits 0")
    func sigtermIsBoundedWhenTheBrokerIsGone() async throws {
        // Its own broker, since it stops it.
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let grace = Duration.seconds(4)
        let gateway = try await GatewayProcess.github(
            broker: broker, prefix: TestKafka.uniqueName("gone"), secret: "gone-secret",
            kafka: "partitions: 1",
            gateway: "ack_timeout_ms: 60000, shutdown_grace_ms: 4000"
        )
        let port = gateway.port
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        func signed(_ id: String) throws -> HTTPFields {
            try WebhookProviders.sign(provider: "github", WebhookSigningInput(secret: "gone-secret", body: githubPush, event: "push", id: id, timestamp: 0)).headerFields
        }
        // The topic exists and the producer has a connection; then the broker goes away.
        let first = try await httpRequest(.POST, "\(base)/webhooks/github", headers: try signed("before"), body: githubPush)
        #expect(first.status == 202, "\(first.text)")
        await broker.shutDown()
        let held = Task { try await httpRequest(.POST, "\(base)/webhooks/github", headers: try signed("held"), body: githubPush, timeout: .seconds(30)) }
        let waiting = try await eventually(timeout: .seconds(20)) { try await recordsInFlight(at: base) == 1 }
        try #require(waiting, "the held record never reached the producer")

        // Taken before the signal: the gateway's clocks start after it, so a lower bound holds.
        let signalled = ContinuousClock.now
        kill(gateway.process.processIdentifier, SIGTERM)
        // The held request keeps the process running for the grace period; meanwhile it accepts
        // no new connection.
        try await Task.sleep(for: .milliseconds(500))
        let refused = try await RawHTTPConnection.connectionRefused(port: port)
        let runningWhenRefused = gateway.process.isRunning
        #expect(refused, "a new connection was accepted after the signal")
        #expect(runningWhenRefused, "the gateway had exited already, so the refusal shows nothing")
        let status = await exitStatus(of: gateway.process, within: .seconds(20))
        let exitedAfter = ContinuousClock.now - signalled
        #expect(status == 0)
        // Grace + 2 s for the requests, then the purge's 1 s at most (and 1.5 s to spare); not a
        // second grace period, which took it past grace × 2 + 2 s.
        #expect(exitedAfter >= grace + .seconds(2), "exited \(exitedAfter) after the signal")
        #expect(exitedAfter < grace + .milliseconds(4500), "exited \(exitedAfter) after the signal")
        let answer = try? await held.value
        #expect(answer.map { !(200...299).contains($0.status) } ?? true, "the held request was answered \(answer?.status ?? 0)")
    }
}

/// What a load generator saw, shared by its clients.
final class LoadOutcome: Sendable {
    /// One request: its delivery id, when it was sent and when it was answered (or failed).
    struct Request: Sendable {
        enum Outcome: Sendable {
            case acknowledged, refused(status: Int), failed(String)
        }

        var id: String
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var outcome: Outcome

        var answered: Bool {
            if case .acknowledged = self.outcome { return true }
            return false
        }
    }

    private let state = Mutex((requests: [Request](), stopped: false))

    var requests: [Request] { self.state.withLock { $0.requests } }
    /// The delivery ids answered 202.
    var acknowledged: [String] { self.requests.filter(\.answered).map(\.id) }
    var stopped: Bool { self.state.withLock { $0.stopped } }
    func stop() { self.state.withLock { $0.stopped = true } }

    func record(_ id: String, _ outcome: Request.Outcome, start: ContinuousClock.Instant) {
        let request = Request(id: id, start: start, end: .now, outcome: outcome)
        self.state.withLock { $0.requests.append(request) }
    }
}
