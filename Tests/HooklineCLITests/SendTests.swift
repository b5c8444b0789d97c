import Crypto
import Foundation
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import Testing

/// One configured source per provider, named `in-<provider>` so that the source → provider
/// mapping of the configuration is what routes it; secrets come from the environment.
struct SendFixture {
    static let discordKey = Curve25519.Signing.PrivateKey()
    static let standardWebhooksSecret = "whsec_" + Data("hookline-cli-test-secret-32bytes".utf8).base64EncodedString()

    let broker: EmbeddedBroker
    let configurationPath: String
    let configuration: HooklineConfiguration
    let environment: [String: String]

    static func sourceName(_ provider: String) -> String { "in-\(provider)" }

    static func secret(_ provider: String) -> String {
        provider == "standard-webhooks" ? self.standardWebhooksSecret : "cli-secret-for-\(provider)"
    }

    static func environmentName(_ provider: String) -> String {
        "CLI_TEST_SECRET_" + provider.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    static var discordPrivateKeyHex: String { hex(Array(self.discordKey.rawRepresentation)) }

    /// - Parameter events: a source's `events:` list, by its provider; none listed otherwise.
    init(providers: [String], events: [String: [String]] = [:]) async throws {
        self.broker = try await TestKafka.broker()
        var yaml = "sources:\n"
        var environment: [String: String] = ["CLI_TEST_DISCORD_KEY": Self.discordPrivateKeyHex]
        for provider in providers {
            let settings = WebhookSamples.samples(provider: provider).first?.configuration ?? ProviderConfiguration()
            yaml += "  \(Self.sourceName(provider)):\n    provider: \"\(provider)\"\n"
            if provider == "discord" {
                yaml += "    public_keys: [\"\(Self.hex(Array(Self.discordKey.publicKey.rawRepresentation)))\"]\n"
            } else {
                yaml += "    secrets: [\"${\(Self.environmentName(provider))}\"]\n"
                environment[Self.environmentName(provider)] = Self.secret(provider)
            }
            let fields: [(String, String?)] = [
                ("public_url", settings.publicURL), ("signature_header", settings.signatureHeader),
                ("signature_prefix", settings.signaturePrefix), ("event_type_header", settings.eventTypeHeader),
                ("event_type_json_pointer", settings.eventTypeJSONPointer), ("id_header", settings.idHeader),
                ("key_json_pointer", settings.keyJSONPointer),
            ]
            for case (let key, let value?) in fields {
                yaml += "    \(key): \"\(value)\"\n"
            }
            if let listed = events[provider] {
                yaml += "    events: [\(listed.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
            }
        }
        self.configurationPath = try cliConfiguration(broker: self.broker, prefix: TestKafka.uniqueName("cli"), extra: yaml)
        self.configuration = try HooklineConfiguration.load(path: self.configurationPath, environment: environment)
        self.environment = environment
    }

    func startGateway() async throws -> RunningGateway {
        try await RunningGateway.start(self.configuration, secrets: SecretResolver(environment: self.environment))
    }

    /// `hookline send in-<provider> <event> --config … --url <gateway> --json`, Discord with its private key.
    func send(_ provider: String, _ event: String, gateway: RunningGateway, extra: [String] = []) async throws -> HooklineBinary.Result {
        var arguments = ["send", Self.sourceName(provider), event, "--config", self.configurationPath, "--url", gateway.baseURL, "--json"]
        if provider == "discord" { arguments += ["--private-key", "${CLI_TEST_DISCORD_KEY}"] }
        return try await HooklineBinary.run(arguments + extra, environment: self.environment)
    }

    /// Runs `body` against a gateway started for it, then stops the gateway and waits for it to
    /// stop, whether `body` returned or threw.
    func withGateway<T>(_ body: (RunningGateway) async throws -> T) async throws -> T {
        let gateway = try await self.startGateway()
        do {
            let result = try await body(gateway)
            await gateway.stop()
            return result
        } catch {
            await gateway.stop()
            throw error
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }
}

@Suite("hookline send", .serialized, .timeLimit(.minutes(5)))
struct SendTests {
    @Test("every provider's every sample event, sent by the binary from a configured source, lands in webhooks.<source>.<event> with the exact body")
    func everySampleOfEveryProviderLands() async throws {
        #expect(Set(WebhookSamples.providers) == Set(WebhookProviders.names))
        let fixture = try await SendFixture(providers: WebhookProviders.names)
        try await fixture.withGateway { gateway in
            let prefix = fixture.configuration.kafka.topicPrefix

            var expected: [(sample: WebhookSample, topic: String, id: String, body: [UInt8])] = []
            for sample in WebhookSamples.all {
                let result = try await fixture.send(sample.provider, sample.event, gateway: gateway)
                let what = "\(sample.provider) \(sample.event)"
                #expect(result.status == 0, "\(what): \(result)")
                let json = try #require(result.json, "\(what): \(result)")
                let source = SendFixture.sourceName(sample.provider)
                let topic = WebhookTopic.name(prefix: prefix, source: source, event: sample.event)
                let status = try #require(json["status"] as? Int, "\(what): \(result)")
                // The gateway's answers (docs/gateway.md): Twilio's TwiML and Discord's deferred
                // response are 200, as is Paddle's acknowledgement; every other one is 202.
                #expect(status == (["twilio", "discord", "paddle"].contains(sample.provider) ? 200 : 202), "\(what): \(result)")
                if !["twilio", "discord"].contains(sample.provider) {
                    #expect((json["response"] as? [String: Any])?["topic"] as? String == topic, "\(what): \(result)")
                }
                let id = try #require(json["id"] as? String, "\(what): \(result)")
                let timestamp = try #require(json["timestamp"] as? Int64, "\(what): \(result)")
                // Fresh ids: a header id is a new UUID, a body id a new value written into the sample.
                #expect(id != sample.expectedID, "\(what): the sample's own id was sent")
                var body = sample.body(at: timestamp)
                if sample.id == nil {
                    #expect(id.count == sample.expectedID.count, "\(what): \(id) is not shaped like \(sample.expectedID)")
                    body = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: sample.expectedID, with: id).utf8)
                }
                expected.append((sample, topic, id, body))
            }

            let pattern = "^" + NSRegularExpression.escapedPattern(for: prefix) + "\\..*"
            let all = try await records(in: pattern, broker: fixture.broker, expect: expected.count)
            #expect(all.count == expected.count)
            for delivery in expected {
                let what = "\(delivery.sample.provider) \(delivery.sample.event)"
                let record = all.first { $0.headers.string("ce_id") == delivery.id }
                #expect(record?.topic == delivery.topic, "\(what)")
                #expect(record?.value == delivery.body, "\(what): bytes differ")
                #expect(record?.headers.string("ce_type") == "\(delivery.sample.provider).\(delivery.sample.event)", "\(what)")
            }
        }
    }

    @Test("a wrong secret is refused: the gateway's 401 is shown and the exit code is 1; the right one is accepted")
    func wrongSecretFails() async throws {
        let fixture = try await SendFixture(providers: ["github", "stripe"])
        try await fixture.withGateway { gateway in

            // Without a configuration: <source> is the provider, or --provider names it.
            let wrong = try await HooklineBinary.run(["send", "github", "push", "--secret", "not-the-secret", "--url", "\(gateway.baseURL)/webhooks/in-github"])
            #expect(wrong.status == 1, "\(wrong)")
            #expect(wrong.stdout.hasPrefix("401 Unauthorized"), "\(wrong)")

            let wrongJSON = try await HooklineBinary.run(["send", "in-stripe", "payment_intent.succeeded", "--provider", "stripe", "--secret", "nope", "--url", gateway.baseURL, "--json"])
            #expect(wrongJSON.status == 1, "\(wrongJSON)")
            #expect(wrongJSON.json?["status"] as? Int == 401, "\(wrongJSON)")

            // A configured source whose secret is overridden on the command line.
            let overridden = try await fixture.send("github", "push", gateway: gateway, extra: ["--secret", "wrong-again"])
            #expect(overridden.status == 1, "\(overridden)")
            #expect(overridden.json?["status"] as? Int == 401, "\(overridden)")

            // A base URL with a query: the path goes before it.
            let right = try await HooklineBinary.run(["send", "in-stripe", "payment_intent.succeeded", "--provider", "stripe", "--secret", SendFixture.secret("stripe"), "--url", gateway.baseURL + "?from=cli"])
            #expect(right.status == 0, "\(right)")
            #expect(right.stdout.hasPrefix("202 Accepted"), "\(right)")
            #expect(try await recordCount(prefix: fixture.configuration.kafka.topicPrefix, broker: fixture.broker) == 1)
        }
    }

    @Test("a file it cannot read and a gateway it cannot reach are named with the system's reason")
    func failuresSayWhy() async throws {
        let missing = "/nonexistent-\(UUID().uuidString)"
        for (file, reason) in [(missing, "No such file or directory"), (NSTemporaryDirectory(), "Is a directory")] {
            let run = try await HooklineBinary.run(["send", "github", "push", "--secret", "s", "--file", file, "--url", "http://127.0.0.1:1"])
            #expect(run.status == 1 && run.stderr == "hookline: cannot read \(file): \(reason)\n", "\(run)")
        }
        // Port 1 on loopback: nothing listens there.
        let refused = try await HooklineBinary.run(["send", "github", "push", "--secret", "s", "--url", "http://127.0.0.1:1"])
        #expect(refused.status == 1 && refused.stderr == "hookline: cannot POST to http://127.0.0.1:1/webhooks/github: Connection refused\n", "\(refused)")
    }

    @Test("without a key to sign with, the error says which to pass: --private-key for a provider that takes no secret (Discord), --secret for the others")
    func missingKeyNamesTheOption() async throws {
        for (provider, event, option) in [("discord", "application_command", "--private-key"), ("github", "push", "--secret")] {
            let run = try await HooklineBinary.run(["send", provider, event, "--url", "http://127.0.0.1:1", "--json"])
            #expect(run.status == 78, "\(run)")
            let error = run.json?["error"] as? String ?? ""
            #expect(error.contains("cannot sign as \(provider)") && error.contains("Pass \(option)"), "\(run)")
        }
    }

    @Test("--secret replaces a configured source's secret, which is then not resolved: an unset ${ENV} there does not stop the send; a file: of several secrets, configured or given, signs with its first line")
    func secretOptionSkipsConfiguredSecret() async throws {
        let fixture = try await SendFixture(providers: ["github"])
        let variable = SendFixture.environmentName("github")
        try #require(ProcessInfo.processInfo.environment[variable] == nil, "\(variable) is set in the test environment")
        try await fixture.withGateway { gateway in
            // The child's environment lacks the variable sources.in-github.secrets[0] names.
            let base = ["send", SendFixture.sourceName("github"), "push", "--config", fixture.configurationPath, "--url", gateway.baseURL, "--json"]
            let sent = try await HooklineBinary.run(base + ["--secret", SendFixture.secret("github")])
            #expect(sent.status == 0, "\(sent)")
            #expect(sent.json?["status"] as? Int == 202, "\(sent)")
            let unresolved = try await HooklineBinary.run(base)
            #expect(unresolved.status == 78, "\(unresolved)")
            #expect((unresolved.json?["error"] as? String)?.contains(variable) == true, "\(unresolved)")

            // The variable names a file holding a rotation, the new secret first (the gateway
            // knows only that one): send signs with the first line, and with the lines swapped it
            // is refused.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("cli-secret"))
            defer { try? FileManager.default.removeItem(at: file) }
            for (lines, status) in [([SendFixture.secret("github"), "the-old-secret"], 202), (["the-old-secret", SendFixture.secret("github")], 401)] {
                try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
                let fromFile = try await HooklineBinary.run(base, environment: [variable: "file:\(file.path)"])
                #expect(fromFile.json?["status"] as? Int == status, "\(lines): \(fromFile)")
                let option = try await HooklineBinary.run(base + ["--secret", "file:\(file.path)"])
                #expect(option.json?["status"] as? Int == status, "--secret file: \(lines): \(option)")
            }
        }
    }

    @Test("Twilio through a URL with a query of its own: form and JSON (bodySHA256) deliveries are signed over the public URL with that query, and accepted")
    func twilioWithAQuery() async throws {
        let fixture = try await SendFixture(providers: ["twilio"])
        try await fixture.withGateway { gateway in
            for event in ["message.delivered", "messaging.message.delivered"] {
                let sent = try await fixture.send("twilio", event, gateway: gateway, extra: ["--url", gateway.baseURL + "?tenant=acme"])
                #expect(sent.status == 0, "\(event): \(sent)")
                #expect(sent.json?["status"] as? Int == 200, "\(event): \(sent)")
                let url = try #require(sent.json?["url"] as? String, "\(sent)")
                #expect(url.hasPrefix(gateway.baseURL + "/webhooks/in-twilio?tenant=acme"), "\(url)")
                #expect(url.contains("bodySHA256=") == (event == "messaging.message.delivered"), "\(url)")
            }
        }
    }

    @Test("--file sends its exact bytes, re-signed with a fresh delivery id each time; repeated sample sends are distinct events")
    func fileAndRepeatedSends() async throws {
        let fixture = try await SendFixture(providers: ["github", "stripe"])
        try await fixture.withGateway { gateway in
            let prefix = fixture.configuration.kafka.topicPrefix

            let payload = #"{"action":"published","release":{"tag_name":"v1.2.3"},"repository":{"full_name":"hookline/cli"}}"#
            let file = try HooklineBinary.writeFile("release.json", payload)
            let first = try await fixture.send("github", "release", gateway: gateway, extra: ["--file", file])
            let second = try await fixture.send("github", "release", gateway: gateway, extra: ["--file", file])
            #expect(first.status == 0 && second.status == 0, "\(first)\n\(second)")
            let firstID = try #require(first.json?["id"] as? String)
            let secondID = try #require(second.json?["id"] as? String)
            #expect(firstID != secondID)

            // Stripe's id is inside the body: with --file nothing carries an id `send` chose, so none is reported.
            let stripeSample = try #require(WebhookSamples.sample(provider: "stripe", event: "charge.refunded"))
            let stripeFile = try HooklineBinary.writeFile("refund.json", String(decoding: stripeSample.body(at: Int64(Date().timeIntervalSince1970)), as: UTF8.self))
            let stripeFileSend = try await fixture.send("stripe", "charge.refunded", gateway: gateway, extra: ["--file", stripeFile])
            #expect(stripeFileSend.status == 0, "\(stripeFileSend)")
            #expect(stripeFileSend.json?["id"] is NSNull, "\(stripeFileSend)")

            let stripeA = try await fixture.send("stripe", "charge.refunded", gateway: gateway)
            let stripeB = try await fixture.send("stripe", "charge.refunded", gateway: gateway)
            let stripeIDs = [stripeA.json?["id"] as? String, stripeB.json?["id"] as? String]
            #expect(stripeIDs[0] != nil && stripeIDs[0] != stripeIDs[1], "\(stripeA)\n\(stripeB)")
            #expect(stripeIDs.allSatisfy { $0?.hasPrefix("evt_") == true })

            let releases = try await records(in: WebhookTopic.name(prefix: prefix, source: "in-github", event: "release"), broker: fixture.broker, expect: 2)
            #expect(releases.count == 2)
            #expect(releases.allSatisfy { $0.value == Array(payload.utf8) })
            #expect(Set(releases.compactMap { $0.headers.string("ce_id") }) == [firstID, secondID])
        }
    }

    @Test("--id X sends X as the delivery id, in a header or written into the body; --keep-id sends the sample's own id, twice the same")
    func chosenAndKeptIDs() async throws {
        let fixture = try await SendFixture(providers: ["github", "stripe"])
        let sample = try #require(WebhookSamples.sample(provider: "stripe", event: "charge.refunded"))
        try await fixture.withGateway { gateway in
            let prefix = fixture.configuration.kafka.topicPrefix
            let header = try await fixture.send("github", "push", gateway: gateway, extra: ["--id", "delivery-chosen"])
            let body = try await fixture.send("stripe", "charge.refunded", gateway: gateway, extra: ["--id", "evt_chosen"])
            let keptA = try await fixture.send("stripe", "charge.refunded", gateway: gateway, extra: ["--keep-id"])
            let keptB = try await fixture.send("stripe", "charge.refunded", gateway: gateway, extra: ["--keep-id"])
            for result in [header, body, keptA, keptB] { #expect(result.status == 0, "\(result)") }
            #expect(header.json?["id"] as? String == "delivery-chosen")
            #expect(body.json?["id"] as? String == "evt_chosen")
            #expect([keptA, keptB].map { $0.json?["id"] as? String } == [sample.expectedID, sample.expectedID], "\(keptA)")

            let pushes = try await records(in: WebhookTopic.name(prefix: prefix, source: "in-github", event: "push"), broker: fixture.broker, expect: 1)
            #expect(pushes.map { $0.headers.string("ce_id") } == ["delivery-chosen"])
            let refunds = try await records(in: WebhookTopic.name(prefix: prefix, source: "in-stripe", event: "charge.refunded"), broker: fixture.broker, expect: 3)
            #expect(refunds.map { $0.headers.string("ce_id") }.sorted { ($0 ?? "") < ($1 ?? "") } == ["evt_chosen", sample.expectedID, sample.expectedID].sorted())
            #expect(refunds.contains { String(decoding: $0.value, as: UTF8.self).contains(#""id":"evt_chosen""#) })
        }
    }

    @Test("--list shows every provider's sample events, or one source's")
    func listsSamples() async throws {
        let all = try await HooklineBinary.run(["send", "--list", "--json"])
        #expect(all.status == 0, "\(all)")
        let listed = try #require((try? JSONSerialization.jsonObject(with: Data(all.stdout.utf8))) as? [[String: Any]], "\(all)")
        #expect(listed.compactMap { $0["provider"] as? String } == WebhookSamples.providers)
        for entry in listed {
            let provider = entry["provider"] as? String ?? ""
            #expect(entry["events"] as? [String] == WebhookSamples.samples(provider: provider).map(\.event))
        }

        let fixture = try await SendFixture(providers: ["shopify"])
        let one = try await HooklineBinary.run(["send", "in-shopify", "--list", "--config", fixture.configurationPath], environment: fixture.environment)
        #expect(one.status == 0, "\(one)")
        #expect(one.stdout.hasPrefix("shopify"), "\(one)")
        #expect(WebhookSamples.samples(provider: "shopify").allSatisfy { one.stdout.contains($0.event) })

        let unknown = try await HooklineBinary.run(["send", "github", "no-such-event", "--secret", "s", "--url", "http://127.0.0.1:9"])
        #expect(unknown.status == 1, "\(unknown)")
        #expect(unknown.stderr.contains("no sample event no-such-event"), "\(unknown)")
    }
}
