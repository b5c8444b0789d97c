import Foundation
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

/// SIGHUP on the real `hookline-gateway`: `sources:` read again from the file, without a restart.
@Suite("Gateway configuration reload", .timeLimit(.minutes(2)))
struct GatewayReloadTests {
    @Test("SIGHUP rotates a file: secret (both lines of the file accepted, then the new one alone) and adds a source; a reload that fails or needs a restart changes nothing and says why; it exits 0 on SIGTERM")
    func sighupReloadsSources() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("hup")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("hup"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let secretFile = directory.appendingPathComponent("github-secret")
        try "first-secret\n".write(to: secretFile, atomically: true, encoding: .utf8)
        let kafka = #"kafka: { brokers: "\#(broker.bootstrapServers)", topic_prefix: "\#(prefix)", partitions: 3 }"#
        let github = #"  github: { provider: github, secrets: ["file:\#(secretFile.path)"] }"#
        let gateway = try await GatewayProcess.start(yaml: [kafka, "sources:", github].joined(separator: "\n"), logLevel: "info")
        defer { if gateway.process.isRunning { kill(gateway.process.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(gateway.port)"
        func push(_ secret: String) async throws -> Int {
            let body = Array(#"{"ref":"refs/heads/main","repository":{"full_name":"octo/hup"}}"#.utf8)
            let input = WebhookSigningInput(secret: secret, body: body, event: "push", id: UUID().uuidString, timestamp: 0)
            let signed = try WebhookProviders.sign(provider: "github", input)
            return try await httpRequest(.POST, "\(base)/webhooks/github", headers: signed.headerFields, body: body).status
        }
        func reloads(_ result: String) async throws -> Int {
            let metrics = try await httpRequest(.GET, "\(base)/metrics").text
            let prefix = #"hookline_gateway_config_reloads_total{result="\#(result)"} "#
            return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
        func hangUpAndWait(for result: String, count: Int) async throws {
            kill(gateway.process.processIdentifier, SIGHUP)
            #expect(try await eventually(timeout: .seconds(10)) { try await reloads(result) == count }, "\(gateway.logText)")
        }
        func rewrite(_ lines: String...) throws {
            try lines.joined(separator: "\n").write(to: gateway.config, atomically: true, encoding: .utf8)
        }
        #expect(try await push("first-secret") == 202)

        // A rotation: the file holds the new secret and the old one (CRLF, as a Windows editor
        // writes it), and either is accepted; then the new one alone, and the old one no longer.
        try "second-secret\r\nfirst-secret\r\n".write(to: secretFile, atomically: true, encoding: .utf8)
        try await hangUpAndWait(for: "applied", count: 1)
        #expect(try await push("second-secret") == 202)
        #expect(try await push("first-secret") == 202)
        try "second-secret\n".write(to: secretFile, atomically: true, encoding: .utf8)
        try await hangUpAndWait(for: "applied", count: 2)
        #expect(try await push("second-secret") == 202)
        #expect(try await push("first-secret") == 401)

        // A source added to the file is served; one whose event header is unsigned and that lists
        // no events: is warned of, as at start.
        try rewrite(kafka, "sources:", github, #"  stripe: { provider: stripe, secrets: ["whsec_aHVwLXN0cmlwZQ=="] }"#, #"  shop: { provider: shopify, secrets: ["hup-shop"] }"#)
        #expect(try await httpRequest(.POST, "\(base)/webhooks/stripe", body: Array("{}".utf8)).status == 404)
        try await hangUpAndWait(for: "applied", count: 3)
        let sample = try #require(WebhookSamples.sample(provider: "stripe", event: "payment_intent.succeeded"))
        let stripe = try WebhookProviders.sign(
            provider: "stripe",
            sample.signingInput(secret: "whsec_aHVwLXN0cmlwZQ==", timestamp: Int64(Date().timeIntervalSince1970))
        )
        #expect(try await httpRequest(.POST, "\(base)/webhooks/stripe", headers: stripe.headerFields, body: sample.body).status == 202)
        #expect(gateway.logText.contains("sources.shop: its event type comes from the X-Shopify-Topic header"), "\(gateway.logText)")

        // The secret file is gone: the reload is refused, github keeps its secret, stripe stays.
        try FileManager.default.removeItem(at: secretFile)
        try await hangUpAndWait(for: "refused", count: 1)
        #expect(try await push("second-secret") == 202)
        #expect(gateway.logText.contains("configuration not reloaded") && gateway.logText.contains(secretFile.path))

        // A longer ack timeout than the producer started with needs a restart: refused too.
        try "third-secret".write(to: secretFile, atomically: true, encoding: .utf8)
        try rewrite(kafka, "sources:", #"  github: { provider: github, secrets: ["third-secret"], ack_timeout_ms: 60000 }"#)
        try await hangUpAndWait(for: "refused", count: 2)
        #expect(try await push("second-secret") == 202)
        #expect(gateway.logText.contains("sources.github.ack_timeout_ms") && gateway.logText.contains("restart"))

        // kafka: and gateway: changed with sources: the sources apply, with the gateway: defaults
        // they started with (a longer default ack timeout would otherwise be refused as above),
        // and the log says the rest waits for a restart.
        try rewrite(kafka.replacingOccurrences(of: "partitions: 3", with: "partitions: 4"), "gateway: { ack_timeout_ms: 60000 }", "sources:", github)
        try await hangUpAndWait(for: "applied", count: 4)
        #expect(try await push("third-secret") == 202)
        #expect(try await httpRequest(.POST, "\(base)/webhooks/stripe", body: Array("{}".utf8)).status == 404)
        #expect(gateway.logText.contains("take effect at the next restart") && gateway.logText.contains("hookline.sections=kafka,gateway"))

        // No secret reached the log.
        for secret in ["first-secret", "second-secret", "third-secret", "aHVwLXN0cmlwZQ"] {
            #expect(!gateway.logText.contains(secret))
        }
        kill(gateway.process.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: gateway.process) == 0)
    }
}

extension GatewayProcess {
    /// What the process has logged so far.
    var logText: String { (try? String(contentsOf: self.log, encoding: .utf8)) ?? "" }
}
