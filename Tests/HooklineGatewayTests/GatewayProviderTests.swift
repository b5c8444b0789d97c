import Crypto
import Foundation
import HTTPTypes
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

/// Credentials for one source per provider: the gateway verifies with one half, the test signs
/// with the other.
struct ProviderCredentials {
    static let ed25519 = Curve25519.Signing.PrivateKey()
    static let standardWebhooksSecret = "whsec_" + Data("hookline-gateway-test-secret-32b".utf8).base64EncodedString()
    /// A credential the gateway knows (the one before a rotation) and one it does not.
    static let previousEd25519 = Curve25519.Signing.PrivateKey()
    static let strangerEd25519 = Curve25519.Signing.PrivateKey()
    static let previousStandardWebhooksSecret = "whsec_" + Data("hookline-previous-test-secret-32".utf8).base64EncodedString()
    static let strangerStandardWebhooksSecret = "whsec_" + Data("hookline-stranger-test-secret-32".utf8).base64EncodedString()

    /// The source for the sample's provider; with `rotated`, the test's credential is the second
    /// of two, as during a rotation.
    static func section(for sample: WebhookSample, rotated: Bool = false) -> SourceSection {
        var section = source(sample.provider, settings: sample.configuration)
        switch sample.provider {
        case "discord":
            section.publicKeys = (rotated ? [self.previousEd25519] : []).map { hex(Array($0.publicKey.rawRepresentation)) }
                + [hex(Array(self.ed25519.publicKey.rawRepresentation))]
        case "standard-webhooks": section.secrets = (rotated ? [self.previousStandardWebhooksSecret] : []) + [self.standardWebhooksSecret]
        default: section.secrets = (rotated ? ["previous-for-\(sample.provider)"] : []) + ["secret-for-\(sample.provider)"]
        }
        return section
    }

    /// Signed with the test's credential, or with `stranger` one the gateway does not know.
    static func signingInput(for sample: WebhookSample, timestamp: Int64, stranger: Bool = false) -> WebhookSigningInput {
        switch sample.provider {
        case "discord": sample.signingInput(privateKey: hex(Array((stranger ? self.strangerEd25519 : self.ed25519).rawRepresentation)), timestamp: timestamp)
        case "standard-webhooks": sample.signingInput(secret: stranger ? self.strangerStandardWebhooksSecret : self.standardWebhooksSecret, timestamp: timestamp)
        default: sample.signingInput(secret: (stranger ? "stranger-for-" : "secret-for-") + sample.provider, timestamp: timestamp)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }
}

/// Checks that `response` is what the contract (docs/gateway.md, "Answers") gives a delivery of
/// `provider` once it is published: Twilio's empty TwiML, Discord's deferred response, an empty
/// 200 for a Slack form (a slash command or an interactivity payload), else 202 (Paddle's 200)
/// with `{"id","topic","partition","offset"}` naming `topic` (or a topic beginning with it).
func expectPublishedAnswer(
    _ response: TestResponse,
    provider: String,
    topic: String,
    topicIsPrefix: Bool = false,
    slackForm: Bool = false,
    _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let what = "\(context): \(response.status) \(response.text)"
    switch provider {
    case "twilio":
        #expect(response.status == 200, "\(what)", sourceLocation: sourceLocation)
        #expect(response.text == "<Response/>", "\(what)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "text/xml", "\(what)", sourceLocation: sourceLocation)
    case "discord":
        #expect(response.status == 200, "\(what)", sourceLocation: sourceLocation)
        #expect([5, 6].contains(response.json?["type"] as? Int ?? 0), "\(what)", sourceLocation: sourceLocation)
    case "slack" where slackForm:
        #expect(response.status == 200 && response.body.isEmpty, "\(what)", sourceLocation: sourceLocation)
    default:
        #expect(response.status == (provider == "paddle" ? 200 : 202), "\(what)", sourceLocation: sourceLocation)
        let answered = response.json?["topic"] as? String ?? ""
        #expect(topicIsPrefix ? answered.hasPrefix(topic) : answered == topic, "\(what)", sourceLocation: sourceLocation)
        #expect(response.json?["offset"] is Int, "\(what)", sourceLocation: sourceLocation)
    }
}

@Suite("Every provider through the gateway", .timeLimit(.minutes(3)))
struct GatewayProviderTests {
    /// The headers of every published record (`traceparent` only when the request had one).
    static let recordHeaders: Set<String> = [
        "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type", "hookline-received-at", "hookline-gateway",
    ]
    /// The headers a provider's records may carry besides (docs/gateway.md).
    static let providerHeaders: [String: Set<String>] = [
        "shopify": ["shopify-event-id", "shopify-webhook-id"],
        "slack": ["slack-command"],
    ]

    @Test("each provider's sample deliveries are accepted and land in their topics with exact bytes and CloudEvents headers")
    func everyProviderLands() async throws {
        let broker = try await TestKafka.broker()
        let samples = WebhookSamples.all
        #expect(Set(samples.map(\.provider)) == Set(WebhookProviders.names))
        // One source per provider, named after it.
        var sources: [String: SourceSection] = [:]
        for sample in samples where sources[sample.provider] == nil {
            sources[sample.provider] = ProviderCredentials.section(for: sample)
        }
        let configuration = gatewayConfiguration(broker: broker, sources: sources)
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }

        var expected: [String: [(sample: WebhookSample, body: [UInt8], headers: HTTPFields)]] = [:]
        for sample in samples {
            let timestamp = Int64(Date().timeIntervalSince1970)
            let input = ProviderCredentials.signingInput(for: sample, timestamp: timestamp)
            let signed = try WebhookProviders.sign(provider: sample.provider, input)
            var url = "\(gateway.baseURL)/webhooks/\(sample.provider)"
            if let signedURL = signed.url, let query = signedURL.firstIndex(of: "?") { url += String(signedURL[query...]) }
            let response = try await httpRequest(.POST, url, headers: signed.headerFields, body: input.body)
            let topic = WebhookTopic.name(prefix: configuration.kafka.topicPrefix, source: sample.provider, event: sample.event)
            expectPublishedAnswer(response, provider: sample.provider, topic: topic, "\(sample.provider) \(sample.event)")
            if sample.provider == "discord" {
                // A command: "thinking…" until the consumer follows up.
                #expect(sample.event == "application_command" && response.text == #"{"type":5}"#, "\(response.text)")
            }
            expected[topic, default: []].append((sample, input.body, signed.headerFields))
        }

        // One consumer for every topic of this gateway (one group join, not one per topic).
        let all = try await records(
            in: "^\(configuration.kafka.topicPrefix.replacingOccurrences(of: "-", with: "\\-"))\\..*",
            broker: broker,
            expect: samples.count
        )
        #expect(all.count == samples.count)
        for (topic, deliveries) in expected {
            let messages = all.filter { $0.topic == topic }
            #expect(messages.count == deliveries.count, "\(topic)")
            for (sample, body, sent) in deliveries {
                let message = messages.first { $0.headers.string("ce_id") == sample.expectedID }
                #expect(message != nil, "\(sample.provider) \(sample.event) not in \(topic)")
                guard let message else { continue }
                #expect(message.value == body, "\(sample.provider) \(sample.event): bytes differ")
                #expect(message.headers.string("ce_type") == "\(sample.provider).\(sample.event)")
                #expect(message.headers.string("ce_source") == "/webhooks/\(sample.provider)")
                #expect(message.key == Array((sample.expectedKey ?? sample.expectedID).utf8), "\(sample.provider) \(sample.event): key")
                // The rest of the CloudEvents binding and Hookline's own headers, for every provider.
                #expect(message.headers.string("ce_specversion") == "1.0", "\(sample.provider)")
                #expect(message.headers.string("ce_time")?.hasSuffix("Z") == true, "\(sample.provider)")
                #expect(message.headers.string("content-type") == (sent[.contentType] ?? "application/octet-stream"), "\(sample.provider)")
                #expect(message.headers.string("hookline-received-at").flatMap(Int64.init) != nil, "\(sample.provider)")
                #expect(message.headers.string("hookline-gateway")?.isEmpty == false, "\(sample.provider)")
                // Nothing else travels: no request header (a GitLab token, a signature) is forwarded.
                let keys = message.headers.map(\.key)
                let extras = Set(keys).subtracting(Self.recordHeaders)
                #expect(Set(keys).isSuperset(of: Self.recordHeaders), "\(sample.provider): \(keys)")
                #expect(extras.isSubset(of: Self.providerHeaders[sample.provider] ?? []), "\(sample.provider): \(extras.sorted())")
                #expect(keys.count == Set(keys).count, "\(sample.provider): a header twice in \(keys)")
                if sample.provider == "shopify" {
                    // Both of Shopify's ids travel with the record.
                    #expect(message.headers.string("shopify-event-id") == sent[HTTPField.Name("X-Shopify-Event-Id")!])
                    #expect(message.headers.string("shopify-webhook-id") == sent[HTTPField.Name("X-Shopify-Webhook-Id")!])
                    #expect(message.headers.string("shopify-webhook-id") != nil)
                }
            }
        }
    }

    @Test("every provider over HTTP: a tampered body, a wrong credential and a stale timestamp are 401 and publish nothing; the second of two credentials is accepted")
    func everyProviderRefusesForgeriesAndTakesRotatedCredentials() async throws {
        let broker = try await TestKafka.broker()
        var samples: [WebhookSample] = []
        for sample in WebhookSamples.all where !samples.contains(where: { $0.provider == sample.provider }) {
            samples.append(sample)
        }
        #expect(Set(samples.map(\.provider)) == Set(WebhookProviders.names))
        var sources: [String: SourceSection] = [:]
        for sample in samples { sources[sample.provider] = ProviderCredentials.section(for: sample, rotated: true) }
        let configuration = gatewayConfiguration(broker: broker, sources: sources)
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }

        func send(_ sample: WebhookSample, _ input: WebhookSigningInput, body: [UInt8]? = nil) async throws -> TestResponse {
            let signed = try WebhookProviders.sign(provider: sample.provider, input)
            var url = "\(gateway.baseURL)/webhooks/\(sample.provider)"
            if let signedURL = signed.url, let query = signedURL.firstIndex(of: "?") { url += String(signedURL[query...]) }
            return try await httpRequest(.POST, url, headers: signed.headerFields, body: body ?? input.body)
        }
        // The schemes that sign a timestamp; GitLab's sample carries a plain token, which covers
        // neither the body nor a time.
        let timestamped: Set = ["stripe", "slack", "standard-webhooks", "discord", "paddle", "linear"]
        let now = Int64(Date().timeIntervalSince1970)
        for sample in samples {
            let good = ProviderCredentials.signingInput(for: sample, timestamp: now)
            if sample.provider != "gitlab" {
                // One letter changed, so a body the scheme parses stays parseable.
                var tampered = good.body
                let index = try #require(tampered.lastIndex { (UInt8(ascii: "a")...UInt8(ascii: "y")).contains($0) })
                tampered[index] += 1
                let response = try await send(sample, good, body: tampered)
                #expect(response.status == 401, "\(sample.provider), tampered body: \(response.status) \(response.text)")
            }
            let stranger = try await send(sample, ProviderCredentials.signingInput(for: sample, timestamp: now, stranger: true))
            #expect(stranger.status == 401, "\(sample.provider), unknown credential: \(stranger.status) \(stranger.text)")
            #expect(stranger.json?["error"] != nil, "\(sample.provider): \(stranger.text)")
            if timestamped.contains(sample.provider) {
                for skew: Int64 in [-3600, 3600] {
                    let stale = try await send(sample, ProviderCredentials.signingInput(for: sample, timestamp: now + skew))
                    #expect(stale.status == 401, "\(sample.provider), timestamp \(skew) s off: \(stale.status) \(stale.text)")
                }
            }
        }
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)

        // Each source's credential is the second it lists.
        for sample in samples {
            let response = try await send(sample, ProviderCredentials.signingInput(for: sample, timestamp: now))
            let topic = WebhookTopic.name(prefix: configuration.kafka.topicPrefix, source: sample.provider, event: sample.event)
            expectPublishedAnswer(response, provider: sample.provider, topic: topic, "\(sample.provider), rotated credential")
        }
        let published = try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker)
        #expect(published == Int64(samples.count), "\(published) of \(samples.count) deliveries signed with a rotated credential published")
    }

    @Test("GitLab 19+ signing over HTTP: a delivery signed with the signing token is published under its signed webhook-id; tampered, another token's, an hour early or late, or token-less and unsigned are 401 and publish nothing")
    func gitLabSigningTokenOverHTTP() async throws {
        let broker = try await TestKafka.broker()
        let token = "whsec_" + Data("hookline-gitlab-signing-token-32".utf8).base64EncodedString()
        let stranger = "whsec_" + Data("hookline-gitlab-stranger-token32".utf8).base64EncodedString()
        let configuration = gatewayConfiguration(broker: broker, sources: ["gitlab": source("gitlab") { $0.signingTokens = [token] }])
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let body = Array(#"{"object_kind":"push","project":{"path_with_namespace":"octo/signed"}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        func send(_ signingToken: String, at timestamp: Int64, id: String, body sent: [UInt8]? = nil, unsigned: Bool = false) async throws -> TestResponse {
            let input = WebhookSigningInput(signingToken: signingToken, body: body, event: "push", id: id, timestamp: timestamp)
            var signed = try WebhookProviders.sign(provider: "gitlab", input)
            if unsigned { signed.headerFields[HTTPField.Name("webhook-signature")!] = nil }
            return try await httpRequest(.POST, "\(gateway.baseURL)/webhooks/gitlab", headers: signed.headerFields, body: sent ?? body)
        }
        var tampered = body
        tampered[tampered.count - 4] = UInt8(ascii: "D")   // "octo/signeD": still JSON
        for (what, response) in [
            ("tampered", try await send(token, at: now, id: "t", body: tampered)),
            ("another token", try await send(stranger, at: now, id: "s")),
            ("an hour early", try await send(token, at: now - 3600, id: "e")),
            ("an hour late", try await send(token, at: now + 3600, id: "l")),
            ("unsigned", try await send(token, at: now, id: "u", unsigned: true)),
        ] {
            #expect(response.status == 401, "\(what): \(response.status) \(response.text)")
            #expect(response.json?["error"] != nil, "\(what): \(response.text)")
        }
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)

        let accepted = try await send(token, at: now, id: "signed-delivery-1")
        let topic = WebhookTopic.name(prefix: configuration.kafka.topicPrefix, source: "gitlab", event: "push")
        expectPublishedAnswer(accepted, provider: "gitlab", topic: topic, "signed with the signing token")
        let landed = try await records(in: topic, broker: broker, expect: 1)
        #expect(landed.map { $0.headers.string("ce_id") } == ["signed-delivery-1"])
        #expect(landed.map { Array($0.value) } == [body])
    }

    @Test("Slack's url_verification and ssl_check and Discord's PING are answered, not published")
    func handshakesAreAnswered() async throws {
        let broker = try await TestKafka.broker()
        var discord = SourceSection(provider: "discord")
        discord.publicKeys = [ProviderCredentials.hex(Array(ProviderCredentials.ed25519.publicKey.rawRepresentation))]
        let configuration = gatewayConfiguration(broker: broker, sources: ["slack": source("slack", secrets: ["slack-secret"]), "discord": discord])
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }

        let challenge = try await post(
            gateway, source: "slack", provider: "slack", secret: "slack-secret",
            body: Array(#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#.utf8)
        )
        #expect(challenge.status == 200)
        #expect(challenge.json?["challenge"] as? String == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        // The certificate check of a slash command URL, which Slack need not sign: an empty 200.
        let sslCheck = try await httpRequest(
            .POST, "\(gateway.baseURL)/webhooks/slack", headers: [.contentType: "application/x-www-form-urlencoded"],
            body: Array("ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO".utf8)
        )
        #expect(sslCheck.status == 200)
        #expect(sslCheck.body.isEmpty)
        let unsignedCommand = try await httpRequest(
            .POST, "\(gateway.baseURL)/webhooks/slack", headers: [.contentType: "application/x-www-form-urlencoded"],
            body: Array("command=%2Fdeploy&text=main&ssl_check=0".utf8)
        )
        #expect(unsignedCommand.status == 401)

        let ping = try await post(
            gateway, source: "discord", provider: "discord",
            privateKey: ProviderCredentials.hex(Array(ProviderCredentials.ed25519.rawRepresentation)),
            body: Array(#"{"id":"1","type":1,"application_id":"2","version":1}"#.utf8)
        )
        #expect(ping.status == 200)
        #expect(ping.text == #"{"type":1}"#)
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)
    }

    @Test("Discord: an interaction is published, then deferred as Discord expects; a webhook event is published and answered 204, and its retry keeps its ce_id")
    func discordRepliesAfterPublishing() async throws {
        let broker = try await TestKafka.broker()
        var discord = SourceSection(provider: "discord")
        discord.publicKeys = [ProviderCredentials.hex(Array(ProviderCredentials.ed25519.publicKey.rawRepresentation))]
        let configuration = gatewayConfiguration(broker: broker, sources: ["discord": discord])
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let privateKey = ProviderCredentials.hex(Array(ProviderCredentials.ed25519.rawRepresentation))
        let prefix = configuration.kafka.topicPrefix

        let sample = try #require(WebhookSamples.all.first { $0.event == "application_command" })
        let command = try await post(gateway, source: "discord", provider: "discord", privateKey: privateKey, body: sample.body)
        #expect(command.status == 200)
        #expect(command.text == #"{"type":5}"#)
        #expect(command.headers[.contentType] == "application/json")
        let commands = try await records(in: "\(prefix).discord.application_command", broker: broker, expect: 1)
        #expect(commands.map(\.value) == [sample.body])

        // Discord retries an event it got no 204 for: the same body, signed again later.
        let event = Array(#"{"version":1,"application_id":"1239871623456789012","type":1,"event":{"type":"ENTITLEMENT_CREATE","timestamp":"2026-11-27T10:00:00.000000","data":{"id":"1","sku_id":"2","user_id":"3"}}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        for timestamp in [now - 5, now] {
            let response = try await post(gateway, source: "discord", provider: "discord", privateKey: privateKey, body: event, timestamp: timestamp)
            #expect(response.status == 204)
            #expect(response.body.isEmpty)
        }
        let events = try await records(in: "\(prefix).discord.entitlement_create", broker: broker, expect: 2)
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0.value == event && $0.headers.string("ce_type") == "discord.entitlement_create" })
        let ids = Set(events.compactMap { $0.headers.string("ce_id") })
        #expect(ids.count == 1, "a retry's ce_id: \(ids)")
    }

    @Test("Standard Webhooks with public keys: a v1a delivery is verified off the event loop and published; a header of more than 10 signatures is refused unchecked")
    func standardWebhooksPublicKeys() async throws {
        let broker = try await TestKafka.broker()
        let key = ProviderCredentials.ed25519
        var svix = SourceSection(provider: "standard-webhooks")
        svix.publicKeys = ["whpk_" + Data(key.publicKey.rawRepresentation).base64EncodedString()]
        let configuration = gatewayConfiguration(broker: broker, sources: ["svix": svix])
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let privateKey = "whsk_" + Data(key.rawRepresentation).base64EncodedString()
        let body = Array(#"{"type":"invoice.paid","data":{"id":"in_1"}}"#.utf8)

        let accepted = try await post(gateway, source: "svix", provider: "standard-webhooks", privateKey: privateKey, body: body, id: "msg_1")
        #expect(accepted.status == 202, "\(accepted.text)")
        let published = try await records(in: "\(configuration.kafka.topicPrefix).svix.invoice.paid", broker: broker, expect: 1)
        #expect(published.map(\.value) == [body])
        #expect(published.first?.headers.string("ce_id") == "msg_1")

        // The valid signature last, behind ten forged ones: refused before any is checked.
        let forged = "v1a," + Data(repeating: 7, count: 64).base64EncodedString()
        let refused = try await post(gateway, source: "svix", provider: "standard-webhooks", privateKey: privateKey, body: body, id: "msg_2") { headers, _ in
            let signature = HTTPField.Name("webhook-signature")!
            headers[signature] = (Array(repeating: forged, count: 10) + [headers[signature]!]).joined(separator: " ")
        }
        #expect(refused.status == 401)
        #expect(refused.json?["error"] as? String == "too_many_signatures")
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 1)
    }

    @Test("a delivery to a public-key source with every place for its checks taken gets a JSON 503 overloaded with Retry-After, on the event loop's path and the router's; each place is given back once its delivery is checked")
    func publicKeyChecksAreBounded() async throws {
        let broker = try await TestKafka.broker()
        var svix = SourceSection(provider: "standard-webhooks")
        svix.publicKeys = ["whpk_" + Data(ProviderCredentials.ed25519.publicKey.rawRepresentation).base64EncodedString()]
        let configuration = gatewayConfiguration(broker: broker, sources: ["svix": svix])
        // One place: deliveries one after another each find it free again, unless one was not given back.
        let one = try await RunningGateway.start(configuration, maxPublicKeyChecks: 1)
        // No place: every delivery is past the bound, whatever the timing.
        let none = try await RunningGateway.start(configuration, maxPublicKeyChecks: 0)
        defer { Task { await one.stop(); await none.stop() } }

        let body = Array(#"{"type":"invoice.paid"}"#.utf8)
        let signatures = (1...10).map { "v1a," + Data(repeating: UInt8($0), count: 64).base64EncodedString() }.joined(separator: " ")
        func forged(to gateway: RunningGateway, expect: String?) async throws -> TestResponse {
            var headers: HTTPFields = [
                HTTPField.Name("webhook-id")!: "msg_forged",
                HTTPField.Name("webhook-timestamp")!: String(Int(Date().timeIntervalSince1970)),
                HTTPField.Name("webhook-signature")!: signatures,
                .contentType: "application/json",
            ]
            // An Expect other than 100-continue leads to the router's path.
            if let expect { headers[.expect] = expect }
            return try await httpRequest(.POST, "\(gateway.baseURL)/webhooks/svix", headers: headers, body: body)
        }
        for (path, expect) in [("event loop", nil), ("router", "x-forged")] as [(String, String?)] {
            for attempt in 1...3 {
                let checked = try await forged(to: one, expect: expect)
                #expect(checked.status == 401, "\(path), delivery \(attempt): \(checked.status) \(checked.text)")
            }
            let refused = try await forged(to: none, expect: expect)
            #expect(refused.status == 503, "\(path): \(refused.text)")
            #expect(refused.json?["error"] as? String == "overloaded", "\(path): \(refused.text)")
            #expect(refused.headers[.retryAfter] == "1", "\(path)")
        }
        #expect(try await httpRequest(.GET, "\(none.baseURL)/readyz").status == 200)
        let metrics = try await httpRequest(.GET, "\(none.baseURL)/metrics").text
        #expect(metrics.contains(#"hookline_gateway_requests_total{source="svix",status="503"} 2"#), "\(metrics)")
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)
    }
}
