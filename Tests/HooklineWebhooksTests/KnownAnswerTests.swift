import HTTPTypes
import HooklineTestSupport
import Testing

@testable import HooklineWebhooks

/// Deliveries signed outside this codebase, for the providers that publish no test vector of
/// their own. The round-trip tests sign with Hookline's own signers, so a verifier and signer
/// that drifted from the provider together (Stripe's `.` joiner become `:`, Shopify's base64
/// become hex) would still pass them; these values would not. Each signature was computed with
/// OpenSSL 3.0 at `now` (1700000000), with `printf '%s' "<signed text>"` piped into:
///
/// - Stripe: `openssl dgst -sha256 -hmac whsec_current`, over `1700000000.<body>`
/// - Paddle: `openssl dgst -sha256 -hmac current-secret`, over `1700000000:<body>`
/// - Shopify: `openssl dgst -sha256 -hmac current-secret -binary | base64`, over the body
/// - Linear, hmac-sha256: `openssl dgst -sha256 -hmac current-secret`, over the body
/// - Intercom: `openssl dgst -sha1 -hmac current-secret`, over the body
/// - Discord: `openssl pkeyutl -sign -rawin` over `1700000000<body>`, with the Ed25519 key of
///   RFC 8032's first test seed (its public key is the RFC's too)
@Suite("Known answers")
struct KnownAnswerTests {
    struct KnownAnswer: Sendable, CustomTestStringConvertible {
        let provider: String
        var configuration = ProviderConfiguration(secrets: ["current-secret"])
        /// The signing credential: a secret, or for Discord the private key's seed in hex.
        var credential = "current-secret"
        let body: String
        /// What the provider sends, the signature computed above among them.
        let headers: [(String, String)]
        let signatureHeader: String
        var event: String? = nil
        var id: String? = nil
        var key: String? = nil
        let expected: (event: String, id: String, key: String?)

        var testDescription: String { self.provider }

        var request: WebhookRequest {
            WebhookRequest(headerFields: fields(self.headers), body: bytes(self.body), now: now)
        }
    }

    static let rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let rfc8032Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    static let answers: [KnownAnswer] = [
        KnownAnswer(
            provider: "stripe",
            configuration: ProviderConfiguration(secrets: ["whsec_current"]),
            credential: "whsec_current",
            body: #"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#,
            headers: [("Stripe-Signature", "t=1700000000,v1=c371e0f89dadaf638fef813dacf4d4394355f3b7977191dae03f812d02a40f37")],
            signatureHeader: "Stripe-Signature",
            expected: ("payment_intent.succeeded", "evt_1", "pi_1")
        ),
        KnownAnswer(
            provider: "paddle",
            body: #"{"event_id":"evt_01","event_type":"subscription.created","occurred_at":"2024-01-01T00:00:00Z","data":{"id":"sub_01"}}"#,
            headers: [("Paddle-Signature", "ts=1700000000;h1=aa61cdc26ffd0e9f2fee86d07c67012ca25d4f36195dedaa6ff6d2b5560b8d0f")],
            signatureHeader: "Paddle-Signature",
            expected: ("subscription.created", "evt_01", "sub_01")
        ),
        KnownAnswer(
            provider: "shopify",
            body: #"{"id":820982911946154508,"email":"jon@example.com"}"#,
            headers: [
                ("X-Shopify-Hmac-Sha256", "psTS90NaU06fK40Xi01wRn9BROVJFRJ8e/mGboeklzo="),
                ("X-Shopify-Topic", "orders/create"),
                ("X-Shopify-Event-Id", "evt-shopify-1"),
                ("X-Shopify-Shop-Domain", "shop.myshopify.com"),
            ],
            signatureHeader: "X-Shopify-Hmac-Sha256",
            event: "orders.create",
            id: "evt-shopify-1",
            key: "shop.myshopify.com",
            expected: ("orders.create", "evt-shopify-1", "shop.myshopify.com")
        ),
        KnownAnswer(
            provider: "linear",
            body: #"{"action":"create","type":"Issue","data":{"id":"iss-1","title":"T"},"webhookTimestamp":1700000000123}"#,
            headers: [
                ("Linear-Signature", "3e43bdb27b8446ff8cff7b27bb387d0da05a777c9a768f67c8b96c9f0c18a9f9"),
                ("Linear-Delivery", "delivery-linear-1"),
                ("Linear-Event", "Issue"),
            ],
            signatureHeader: "Linear-Signature",
            id: "delivery-linear-1",
            expected: ("issue.create", "delivery-linear-1", "iss-1")
        ),
        KnownAnswer(
            provider: "intercom",
            body: #"{"type":"notification_event","topic":"conversation.user.created","id":"notif_1","data":{"item":{"type":"conversation","id":"c1"}}}"#,
            headers: [("X-Hub-Signature", "sha1=e6e5aeaed70af1dd3ec1104a66a61e2f613c038b")],
            signatureHeader: "X-Hub-Signature",
            expected: ("conversation.user.created", "notif_1", "c1")
        ),
        KnownAnswer(
            provider: "hmac-sha256",
            configuration: ProviderConfiguration(
                secrets: ["current-secret"],
                signaturePrefix: "sha256=",
                eventTypeHeader: "X-Event-Type",
                idHeader: "X-Delivery",
                keyJSONPointer: "/account"
            ),
            body: #"{"account":"acct-9","amount":3}"#,
            headers: [
                ("X-Signature", "sha256=25c4ab1dfebb1f22fb68d26a03be0e0930c0d900aca7c248889fc918ebff17af"),
                ("X-Event-Type", "invoice.paid"),
                ("X-Delivery", "delivery-9"),
            ],
            signatureHeader: "X-Signature",
            event: "invoice.paid",
            id: "delivery-9",
            expected: ("invoice.paid", "delivery-9", "acct-9")
        ),
        KnownAnswer(
            provider: "gitlab",
            body: #"{"object_kind":"merge_request","project":{"path_with_namespace":"group/app"}}"#,
            headers: [
                ("X-Gitlab-Token", "current-secret"),
                ("X-Gitlab-Event", "Merge Request Hook"),
                ("Idempotency-Key", "idem-1"),
            ],
            signatureHeader: "X-Gitlab-Token",
            event: "merge_request",
            id: "idem-1",
            expected: ("merge_request", "idem-1", "group/app")
        ),
        KnownAnswer(
            provider: "discord",
            configuration: ProviderConfiguration(publicKeys: [rfc8032Public]),
            credential: rfc8032Seed,
            body: #"{"type":2,"id":"i1","guild_id":"g1","data":{"name":"hello"}}"#,
            headers: [
                (
                    "X-Signature-Ed25519",
                    "718e48cb3f97592599519023401278d88573ff1b1199cbada913906bbab79950dd3ca4714e96940fa9d13cdc2c976109702643ac22bcb1741028788767665007"
                ),
                ("X-Signature-Timestamp", "1700000000"),
            ],
            signatureHeader: "X-Signature-Ed25519",
            expected: ("application_command", "i1", "g1")
        ),
    ]

    /// Every provider with no published vector has a known answer here.
    @Test func everyProviderWithoutAPublishedVectorIsCovered() throws {
        let published = Set(try PublishedVector.all().map(\.provider))
        let unvectored = Set(WebhookProviders.names).subtracting(published)
        #expect(Set(Self.answers.map(\.provider)) == unvectored)
    }

    @Test(arguments: answers)
    func verifies(_ answer: KnownAnswer) throws {
        let verifier = try WebhookProviders.makeVerifier(provider: answer.provider, configuration: answer.configuration)
        let verified = try verifier.verify(answer.request)
        #expect(verified.event == answer.expected.event)
        #expect(verified.id == answer.expected.id)
        #expect(verified.key == answer.expected.key)
        #expect(verified.ceType == answer.provider + "." + answer.expected.event)
    }

    /// `hookline send` signs with these signers: they must produce the provider's own header.
    @Test(arguments: answers)
    func signerProducesTheSameSignature(_ answer: KnownAnswer) throws {
        let ed25519 = answer.provider == "discord"
        let signed = try WebhookProviders.sign(
            provider: answer.provider,
            WebhookSigningInput(
                secret: ed25519 ? nil : answer.credential,
                privateKey: ed25519 ? answer.credential : nil,
                body: bytes(answer.body),
                event: answer.event,
                id: answer.id,
                key: answer.key,
                timestamp: now,
                configuration: answer.configuration
            )
        )
        let name = HTTPField.Name(answer.signatureHeader)!
        let expected = try #require(answer.headers.first { HTTPField.Name($0.0)! == name }).1
        #expect(signed.headerFields[name] == expected)
    }
}
