import Foundation
import HTTPTypes
import HooklineTestSupport
import Testing

@testable import HooklineWebhooks

/// Every vector in `shared/provider-vectors.json` verifies, and fails once its body is altered.
@Suite("Published vectors")
struct PublishedVectorTests {
    struct Vector {
        let provider: String
        let configuration: ProviderConfiguration
        let request: WebhookRequest
    }

    static func vectors() throws -> [Vector] {
        try PublishedVector.all().map { vector in
            var configuration = ProviderConfiguration()
            if let secret = vector.secret { configuration.secrets = [secret] }
            if let key = vector.publicKey { configuration.publicKeys = [key] }
            // A scheme that signs the URL is configured with it, without the query each request brings.
            if let url = vector.url { configuration.publicURL = String(url.prefix { $0 != "?" }) }
            var headers = vector.headers.map { ($0.name, $0.value) }
            if vector.provider == "github" {
                // The vector covers the signature only; GitHub always sends these routing headers.
                headers += [("X-GitHub-Event", "ping"), ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]
            }
            let request = WebhookRequest(headerFields: fields(headers), body: vector.body, url: vector.url, now: vector.signedAt ?? now)
            return Vector(provider: vector.provider, configuration: configuration, request: request)
        }
    }

    @Test func everyPublishedVectorVerifies() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 7)
        for vector in vectors {
            let verifier = try WebhookProviders.makeVerifier(provider: vector.provider, configuration: vector.configuration)
            do {
                let verified = try verifier.verify(vector.request)
                #expect(verified.ceType.hasPrefix(vector.provider + "."))
            } catch {
                Issue.record("\(vector.provider) vector refused: \(error)")
            }
        }
    }

    @Test func everyPublishedVectorFailsWithAnAlteredBody() throws {
        for vector in try Self.vectors() {
            let verifier = try WebhookProviders.makeVerifier(provider: vector.provider, configuration: vector.configuration)
            var request = vector.request
            request.body[request.body.count / 2] ^= 0x01
            expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
        }
    }

    @Test func twilioFormVectorFacts() throws {
        let vector = try #require(Self.vectors().first { $0.provider == "twilio" && $0.request.body.first != UInt8(ascii: "{") })
        let verified = try WebhookProviders.makeVerifier(provider: "twilio", configuration: vector.configuration).verify(vector.request)
        #expect(verified.key == "CA1234567890ABCDE")
        #expect(verified.reply == .emptyTwiML)
    }

    @Test func slackVectorIsASlashCommand() throws {
        let vector = try #require(Self.vectors().first { $0.provider == "slack" })
        let verified = try WebhookProviders.makeVerifier(provider: "slack", configuration: vector.configuration).verify(vector.request)
        #expect(verified.event == "slash_command")
        #expect(verified.id == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
        #expect(verified.key == "T1DC2JH3J")
        #expect(verified.headers == [.init(name: "slack-command", value: "/webhook-collect")])
    }

    @Test func slackVectorOutsideToleranceIsRefused() throws {
        let vector = try #require(Self.vectors().first { $0.provider == "slack" })
        var request = vector.request
        request.now += 301
        let verifier = try WebhookProviders.makeVerifier(provider: "slack", configuration: vector.configuration)
        expectRefusal(.timestampOutOfTolerance, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func squareVectorNeedsTheExactURL() throws {
        let vector = try #require(Self.vectors().first { $0.provider == "square" })
        var request = vector.request
        request.url = "https://example.com/webhook2"
        let verifier = try WebhookProviders.makeVerifier(provider: "square", configuration: vector.configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }
}

