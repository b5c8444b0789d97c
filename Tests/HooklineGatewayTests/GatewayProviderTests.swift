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

    static func section(for sample: WebhookSample) -> SourceSection {
        var section = source(sample.provider, settings: sample.configuration)
        switch sample.provider {
        case "discord": section.publicKeys = [hex(Array(self.ed25519.publicKey.rawRepresentation))]
        case "standard-webhooks": section.secrets = [self.standardWebhooksSecret]
        default: section.secrets = ["secret-for-\(sample.provider)"]
        }
        return section
    }

    static func signingInput(for sample: WebhookSample, timestamp: Int64) -> WebhookSigningInput {
        switch sample.provider {
        case "discord": sample.signingInput(privateKey: hex(Array(self.ed25519.rawRepresentation)), timestamp: timestamp)
        case "standard-webhooks": sample.signingInput(secret: self.standardWebhooksSecret, timestamp: timestamp)
        default: sample.signingInput(secret: "secret-for-\(sample.provider)", timestamp: timestamp)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }
}

@Suite("Every provider through the gateway", .timeLimit(.minutes(3)))
struct GatewayProviderTests {
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

        var expected: [String: [(sample: WebhookSample, body: [UInt8])]] = [:]
        for sample in samples {
            let timestamp = Int64(Date().timeIntervalSince1970)
            let input = ProviderCredentials.signingInput(for: sample, timestamp: timestamp)
            let signed = try WebhookProviders.sign(provider: sample.provider, input)
            var url = "\(gateway.baseURL)/webhooks/\(sample.provider)"
            if let signedURL = signed.url, let query = signedURL.firstIndex(of: "?") { url += String(signedURL[query...]) }
            let response = try await httpRequest(.POST, url, headers: signed.headerFields, body: input.body)
            let topic = WebhookTopic.name(prefix: configuration.kafka.topicPrefix, source: sample.provider, event: sample.event)
            #expect((200...299).contains(response.status), "\(sample.provider) \(sample.event): \(response.status) \(response.text)")
            if response.status == 202 {
                #expect(response.json?["topic"] as? String == topic, "\(sample.provider) \(sample.event)")
            }
            if sample.provider == "twilio" {
                #expect(response.text == "<Response/>")
                #expect(response.headers[.contentType] == "text/xml")
            }
            expected[topic, default: []].append((sample, input.body))
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
            for (sample, body) in deliveries {
                let message = messages.first { $0.headers.string("ce_id") == sample.expectedID }
                #expect(message != nil, "\(sample.provider) \(sample.event) not in \(topic)")
                guard let message else { continue }
                #expect(message.value == body, "\(sample.provider) \(sample.event): bytes differ")
                #expect(message.headers.string("ce_type") == "\(sample.provider).\(sample.event)")
                #expect(message.headers.string("ce_source") == "/webhooks/\(sample.provider)")
                #expect(message.key == Array((sample.expectedKey ?? sample.expectedID).utf8), "\(sample.provider) \(sample.event): key")
            }
        }
    }

    @Test("Slack's url_verification and Discord's PING are answered, not published")
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

        let ping = try await post(
            gateway, source: "discord", provider: "discord",
            privateKey: ProviderCredentials.hex(Array(ProviderCredentials.ed25519.rawRepresentation)),
            body: Array(#"{"id":"1","type":1,"application_id":"2","version":1}"#.utf8)
        )
        #expect(ping.status == 200)
        #expect(ping.text == #"{"type":1}"#)
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)
    }
}
