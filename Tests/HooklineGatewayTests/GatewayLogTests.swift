import Foundation
import HTTPTypes
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

@Suite("Gateway logs", .timeLimit(.minutes(2)))
struct GatewayLogTests {
    /// In each format (`HOOKLINE_LOG_FORMAT`): text lines, or one JSON object a line.
    @Test("at trace level, accepted and refused requests leave no secret, signature or payload in the log; a refusal names the provider's delivery id", arguments: ["text", "json"])
    func noSecretsOrPayloads(format: String) async throws {
        let broker = try await TestKafka.broker()
        let marker = "payload-marker-\(UUID().uuidString)"
        let githubSecret = "github-secret-\(UUID().uuidString)"
        let stripeSecret = "whsec_" + Data("stripe-secret-\(UUID().uuidString.prefix(8))".utf8).base64EncodedString()
        let stripeSecretFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("stripe-secret"))
        try stripeSecret.write(to: stripeSecretFile, atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(
            yaml: """
                kafka: { brokers: "\(broker.bootstrapServers)", topic_prefix: "\(TestKafka.uniqueName("logs"))", partitions: 1 }
                gateway: { max_body_bytes: 4096 }
                sources:
                  github: { provider: github, secrets: ["${HOOKLINE_TEST_GITHUB_SECRET}"] }
                  stripe: { provider: stripe, secrets: ["file:\(stripeSecretFile.path)"], tolerance_seconds: 300 }
                """,
            logLevel: "trace",
            environment: ["HOOKLINE_TEST_GITHUB_SECRET": githubSecret, "HOOKLINE_LOG_FORMAT": format]
        )
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        let base = "http://127.0.0.1:\(gateway.port)/webhooks"
        let now = Int64(Date().timeIntervalSince1970)
        func sign(_ provider: String, _ secret: String, _ body: [UInt8], id: String) throws -> HTTPFields {
            try WebhookProviders.sign(provider: provider, WebhookSigningInput(secret: secret, body: body, event: "push", id: id, timestamp: now)).headerFields
        }
        let push = Array(#"{"zen":"\#(marker)","repository":{"full_name":"octo/hello"}}"#.utf8)
        let accepted = try sign("github", githubSecret, push, id: "accepted-delivery")
        let refusedID = "refused-delivery-\(UUID().uuidString)"
        let stripeEvent = Array(#"{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1","note":"\#(marker)"}}}"#.utf8)

        var statuses: [Int] = []
        statuses.append(try await httpRequest(.POST, "\(base)/github", headers: accepted, body: push).status)
        // Tampered: the signature of another body, under the provider's delivery id.
        statuses.append(try await httpRequest(.POST, "\(base)/github", headers: try sign("github", githubSecret, push + [0x20], id: refusedID), body: push).status)
        statuses.append(try await httpRequest(.POST, "\(base)/github", headers: try sign("github", "wrong-secret", push, id: "wrong"), body: push).status)
        statuses.append(try await httpRequest(.POST, "\(base)/stripe", headers: try sign("stripe", stripeSecret, stripeEvent, id: "evt_1"), body: stripeEvent).status)
        let notJSON = Array("not json \(marker)".utf8)
        statuses.append(try await httpRequest(.POST, "\(base)/stripe", headers: try sign("stripe", stripeSecret, notJSON, id: "x"), body: notJSON).status)
        let oversize = Array(String(repeating: marker, count: 200).utf8)
        statuses.append(try await httpRequest(.POST, "\(base)/github", headers: try sign("github", githubSecret, oversize, id: "big"), body: oversize).status)
        statuses.append(try await httpRequest(.POST, "\(base)/unknown", headers: accepted, body: push).status)
        #expect(statuses == [202, 401, 401, 202, 400, 413, 404])

        kill(gateway.process.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: gateway.process) == 0)
        let log = try String(contentsOf: gateway.log, encoding: .utf8)

        // The log is there, verbose, and says what was refused and which delivery it was.
        let lines = log.split(separator: "\n")
        // GitHub's event header is not signed, and the source lists no events:.
        #expect(lines.contains { $0.contains("sources.github: its event type comes from the X-GitHub-Event header, which the signature does not cover") && $0.contains("warning") })
        #expect(!lines.contains { $0.contains("sources.stripe: its event type comes from") })
        let refusal = try #require(lines.first { $0.contains(refusedID) })
        if format == "json" {
            // Every line is one JSON object with the fixed members, then the metadata, flat.
            let objects = try lines.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            }
            for object in objects {
                #expect(object["time"] is String && object["logger"] is String && object["message"] is String && object["source"] is String, "\(object)")
            }
            #expect(Set(objects.compactMap { $0["level"] as? String }).isSuperset(of: ["trace", "debug", "info"]))
            let refused = try #require(try JSONSerialization.jsonObject(with: Data(refusal.utf8)) as? [String: Any])
            #expect(refused["message"] as? String == "webhook refused")
            #expect(refused["hookline.reason"] as? String == "bad_signature")
            #expect(refused["hookline.source"] as? String == "github")
            #expect(refused["level"] as? String == "info")
            #expect(refused["logger"] as? String == "hookline.gateway")
        } else {
            #expect(log.contains(" trace ") && log.contains(" debug "))
            #expect(refusal.contains("webhook refused") && refusal.contains("hookline.reason=bad_signature") && refusal.contains("hookline.source=github"))
        }
        // Nothing of the secrets, the signatures or the payloads.
        let signature = try #require(accepted[HTTPField.Name("X-Hub-Signature-256")!]).dropFirst("sha256=".count)
        for secret in [githubSecret, stripeSecret, String(stripeSecret.dropFirst("whsec_".count)), String(signature), marker] {
            #expect(!log.contains(secret), "the log contains \(secret.prefix(24))…")
        }
    }
}
