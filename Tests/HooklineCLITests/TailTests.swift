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

        // It reads by assignment: no tail above left a group behind, or committed a position on
        // these topics (the test's own reader above is a `check` group).
        let admin = try TestKafka.admin(fixture.broker)
        for group in try await admin.listConsumerGroups().map(\.groupID) where !group.hasPrefix("check") {
            #expect(!group.contains("tail"), "\(group)")
            let committed = try await admin.committedOffsets(group: group).keys.filter { $0.topic.hasPrefix(prefix + ".") }
            #expect(committed.isEmpty, "\(group) committed \(committed)")
        }
    }

    @Test("an event its source's events: leaves out is looked for in the source's unknown topic, saying so; --last 0 shows nothing and says nothing")
    func eventLeftOutOfTheSourcesEvents() async throws {
        let fixture = try await SendFixture(providers: ["github"], events: ["github": ["push"]])
        let prefix = fixture.configuration.kafka.topicPrefix
        let config = ["--config", fixture.configurationPath]
        let sent = try await fixture.withGateway { gateway in
            try await fixture.send("github", "issues", gateway: gateway)
        }
        let unknown = WebhookTopic.name(prefix: prefix, source: "in-github", event: "unknown")
        #expect((sent.json?["response"] as? [String: Any])?["topic"] as? String == unknown, "\(sent)")
        _ = try await records(in: unknown, broker: fixture.broker, expect: 1)

        let issues = try await HooklineBinary.run(["tail", "in-github", "issues"] + config, environment: fixture.environment)
        #expect(issues.status == 0, "\(issues)")
        #expect(issues.stderr.contains("issues is not in sources.in-github.events, so the gateway puts it in \(unknown)"), "\(issues)")
        let lines = issues.stdout.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("  \(unknown)[") && lines[0].contains("  github.issues  id=\(sent.json?["id"] as? String ?? "?")"), "\(issues)")
        // A listed event is its own topic, with no note.
        let push = try await HooklineBinary.run(["tail", "in-github", "push"] + config, environment: fixture.environment)
        #expect(push.status == 0 && push.stderr.isEmpty && push.stdout == "No webhooks in \(WebhookTopic.name(prefix: prefix, source: "in-github", event: "push")).", "\(push)")

        let nothing = try await HooklineBinary.run(["tail", "--last", "0"] + config, environment: fixture.environment)
        #expect(nothing.status == 0 && nothing.stdout.isEmpty && nothing.stderr.isEmpty, "\(nothing)")
    }

    @Test("--payload shows a body's control characters (a terminal escape) as text, never sends them to the terminal; --json carries the bytes")
    func controlCharactersAreShown() async throws {
        let fixture = try await SendFixture(providers: ["github"])
        let config = ["--config", fixture.configurationPath]
        let body = "{\"zen\":\"\u{1B}[2J\u{1B}]0;pwned\u{07}\",\"repository\":{\"full_name\":\"octo/escape\"}}"
        let file = try HooklineBinary.writeFile("escape-\(UUID().uuidString.prefix(8)).json", body)
        try await fixture.withGateway { gateway in
            let sent = try await fixture.send("github", "push", gateway: gateway, extra: ["--file", file])
            #expect(sent.status == 0, "\(sent)")
        }
        let text = try await HooklineBinary.run(["tail", "in-github", "--payload"] + config, environment: fixture.environment)
        #expect(text.status == 0, "\(text)")
        #expect(!text.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(text.stdout.debugDescription)")
        #expect(text.stdout.contains(#"\u{1B}[2J\u{1B}]0;pwned\u{7}"#), "\(text.stdout)")
        let json = try await HooklineBinary.run(["tail", "in-github", "--payload", "--json"] + config, environment: fixture.environment)
        #expect((json.json?["records"] as? [[String: Any]])?.first?["payload"] as? String == body, "\(json)")
    }

    @Test("--follow shows each webhook once as it is written, in a topic that existed or one created after it started, and stops at Ctrl-C with exit 0")
    func follow() async throws {
        let fixture = try await SendFixture(providers: ["github", "shopify"])
        try await fixture.withGateway { gateway in
            let before = try await fixture.send("github", "push", gateway: gateway)
            #expect(before.status == 0, "\(before)")

            let tail = try FollowingTail(arguments: ["--last", "0", "--config", fixture.configurationPath], environment: fixture.environment)
            defer { tail.kill() }
            try await tail.started()
            let existing = try await fixture.send("github", "push", gateway: gateway)
            // The shop's topic is created by this webhook, after the tail looked.
            let created = try await fixture.send("shopify", "orders.create", gateway: gateway)
            let expected = try [existing, created].map { try #require($0.json?["id"] as? String, "\($0)") }
            let lines = try await tail.stop(after: 2)
            #expect(lines.map { $0["id"] as? String } == expected, "\(tail.output)")
            #expect(lines.last?["topic"] as? String == WebhookTopic.name(prefix: fixture.configuration.kafka.topicPrefix, source: "in-shopify", event: "orders/create"))
        }
    }
}

/// `hookline tail --follow --json …` running, its output in files.
final class FollowingTail: @unchecked Sendable {
    let process = Process()
    let directory: URL

    init(arguments: [String], environment: [String: String]) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-tail-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        for name in ["stdout", "stderr"] {
            _ = FileManager.default.createFile(atPath: self.directory.appendingPathComponent(name).path, contents: nil)
        }
        self.process.executableURL = URL(fileURLWithPath: HooklineBinary.path)
        self.process.arguments = ["tail", "--follow", "--json"] + arguments
        var base = ProcessInfo.processInfo.environment
        base["HOOKLINE_CONFIG"] = nil
        self.process.environment = base.merging(environment) { $1 }
        self.process.currentDirectoryURL = HooklineBinary.workingDirectory
        self.process.standardOutput = try FileHandle(forWritingTo: self.directory.appendingPathComponent("stdout"))
        self.process.standardError = try FileHandle(forWritingTo: self.directory.appendingPathComponent("stderr"))
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    func read(_ name: String) -> String {
        (try? String(contentsOf: self.directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    var output: String { "stdout: \(self.read("stdout"))\nstderr: \(self.read("stderr"))" }

    /// Waits until it has looked at the topics and follows them.
    func started() async throws {
        let following = await eventually(timeout: .seconds(20)) { self.read("stderr").contains("hookline: following ") }
        try #require(following, "\(self.output)")
    }

    /// Waits for `count` lines, then 3 s more (a look for new topics is every 2 s: time for a
    /// record to come twice, were it to), sends SIGINT, expects exit 0, and returns every line.
    func stop(after count: Int) async throws -> [[String: Any]] {
        _ = await eventually(timeout: .seconds(20)) { self.read("stdout").split(separator: "\n").count >= count }
        try await Task.sleep(for: .seconds(3))
        Foundation.kill(self.process.processIdentifier, SIGINT)
        #expect(await exitStatus(of: self.process, within: .seconds(5)) == 0, "\(self.output)")
        return self.read("stdout").split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
    }

    func kill() {
        if self.process.isRunning { Foundation.kill(self.process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: self.directory)
    }
}
