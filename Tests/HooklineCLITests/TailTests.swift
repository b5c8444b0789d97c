import Foundation
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import Testing

@Suite("hookline tail", .serialized, .timeLimit(.minutes(5)))
struct TailTests {
    @Test("the latest webhooks of every source, of one source or of one event, oldest first, with their headers, and with --payload their exact bodies; a mistyped source is an error")
    func latest() async throws {
        let fixture = try await SendFixture(providers: ["github", "shopify"])
        let prefix = fixture.configuration.kafka.topicPrefix
        let config = ["--config", fixture.configurationPath]
        let sent = try await fixture.withGateway { gateway in
            var ids: [(event: String, id: String)] = []
            for (provider, event) in [("github", "push"), ("shopify", "orders.create"), ("github", "push"), ("github", "issues")] {
                let result = try await fixture.send(provider, event, gateway: gateway)
                ids.append((event, try #require(result.json?["id"] as? String, "\(result)")))
                // Records apart in time, so that oldest first is one order.
                try await Task.sleep(for: .milliseconds(20))
            }
            return ids
        }
        let written = try await records(in: "^" + NSRegularExpression.escapedPattern(for: prefix) + "\\..*", broker: fixture.broker, expect: sent.count)
        #expect(written.count == sent.count)

        let all = try await HooklineBinary.run(["tail", "--json"] + config, environment: fixture.environment)
        #expect(all.status == 0, "\(all)")
        let shown = try #require(all.json?["records"] as? [[String: Any]], "\(all)")
        #expect(shown.map { $0["id"] as? String } == sent.map(\.id), "\(all)")
        #expect(shown.map { $0["type"] as? String } == ["github.push", "shopify.orders.create", "github.push", "github.issues"])
        #expect(shown.allSatisfy { $0["payload"] == nil }, "a body without --payload")
        let pushTopic = WebhookTopic.name(prefix: prefix, source: "in-github", event: "push")
        #expect(shown[2]["topic"] as? String == pushTopic)
        let headers = try #require(shown[2]["headers"] as? [[String: Any]])
        #expect(headers.contains { $0["key"] as? String == "ce_source" && $0["value"] as? String == "/webhooks/in-github" }, "\(headers)")

        // One source, the latest one; one event by the provider's name for it.
        let lastOfGitHub = try await HooklineBinary.run(["tail", "in-github", "--last", "1", "--json"] + config, environment: fixture.environment)
        #expect((lastOfGitHub.json?["records"] as? [[String: Any]])?.map { $0["id"] as? String } == [sent[3].id], "\(lastOfGitHub)")
        let orders = try await HooklineBinary.run(["tail", "in-shopify", "orders/create", "--payload", "--json"] + config, environment: fixture.environment)
        let order = try #require((orders.json?["records"] as? [[String: Any]])?.first, "\(orders)")
        let orderRecord = try #require(written.first { $0.headers.string("ce_id") == sent[1].id })
        #expect(order["payload"] as? String == String(decoding: orderRecord.value, as: UTF8.self))
        #expect(order["payload_encoding"] as? String == "utf8")
        #expect(order["size"] as? Int == orderRecord.value.count)

        // Text: a line per webhook, its body under it with --payload.
        let text = try await HooklineBinary.run(["tail", "in-github", "push"] + config, environment: fixture.environment)
        let lines = text.stdout.split(separator: "\n")
        #expect(text.status == 0 && lines.count == 2, "\(text)")
        for (line, id) in zip(lines, [sent[0].id, sent[2].id]) {
            #expect(line.contains("  \(pushTopic)[") && line.contains("  github.push  id=\(id)  key=hookline/"), "\(line)")
        }
        let withBody = try await HooklineBinary.run(["tail", "in-shopify", "--payload"] + config, environment: fixture.environment)
        #expect(withBody.stdout.split(separator: "\n").count == 1 + String(decoding: orderRecord.value, as: UTF8.self).split(separator: "\n").count, "\(withBody)")

        let none = try await HooklineBinary.run(["tail", "in-shopify", "orders/paid"] + config, environment: fixture.environment)
        #expect(none.status == 0 && none.stdout == "No webhooks in \(WebhookTopic.name(prefix: prefix, source: "in-shopify", event: "orders/paid")).", "\(none)")
        let mistyped = try await HooklineBinary.run(["tail", "in-gtihub"] + config, environment: fixture.environment)
        #expect(mistyped.status == 1 && mistyped.stderr.contains("no source named in-gtihub in the configuration (in-github, in-shopify)"), "\(mistyped)")
    }

    @Test("--follow shows each webhook once as it is written, in a topic that existed or one created after it started, and stops at Ctrl-C with exit 0")
    func follow() async throws {
        let fixture = try await SendFixture(providers: ["github", "shopify"])
        try await fixture.withGateway { gateway in
            let before = try await fixture.send("github", "push", gateway: gateway)
            #expect(before.status == 0, "\(before)")

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-tail-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let stdout = directory.appendingPathComponent("stdout")
            let stderr = directory.appendingPathComponent("stderr")
            FileManager.default.createFile(atPath: stdout.path, contents: nil)
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            let tail = Process()
            tail.executableURL = URL(fileURLWithPath: HooklineBinary.path)
            tail.arguments = ["tail", "--follow", "--last", "0", "--json", "--config", fixture.configurationPath]
            tail.environment = ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 }
            tail.standardOutput = try FileHandle(forWritingTo: stdout)
            tail.standardError = try FileHandle(forWritingTo: stderr)
            tail.standardInput = FileHandle.nullDevice
            try tail.run()
            defer { if tail.isRunning { kill(tail.processIdentifier, SIGKILL) } }
            let read = { (file: URL) in (try? String(contentsOf: file, encoding: .utf8)) ?? "" }

            try await eventually(timeout: .seconds(20)) { read(stderr).contains("hookline: following ") }
            let existing = try await fixture.send("github", "push", gateway: gateway)
            // The shop's topic is created by this webhook, after the tail looked.
            let created = try await fixture.send("shopify", "orders.create", gateway: gateway)
            let expected = try [existing, created].map { try #require($0.json?["id"] as? String, "\($0)") }
            try await eventually(timeout: .seconds(20)) { read(stdout).split(separator: "\n").count >= 2 }
            // A look for new topics every 2 s: time for a record to come twice, were it to.
            try await Task.sleep(for: .seconds(3))

            kill(tail.processIdentifier, SIGINT)
            let status = await exitStatus(of: tail, within: .seconds(5))
            #expect(status == 0, "\(read(stderr))")
            let lines = read(stdout).split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.map { $0?["id"] as? String } == expected, "\(read(stdout))")
            #expect(lines.last??["topic"] as? String == WebhookTopic.name(prefix: fixture.configuration.kafka.topicPrefix, source: "in-shopify", event: "orders/create"))
        }
    }
}
