import HTTPTypes
import HooklineTestSupport
import Testing

@testable import HooklineWebhooks

/// One provider set up for the shared round-trip tests: configured with two credentials (current
/// and rotated), and able to sign with either or with a third, wrong one.
struct ProviderFixture: Sendable, CustomTestStringConvertible {
    /// The credential a delivery is signed with.
    enum Credential: Int, Sendable { case current = 0, rotated = 1, wrong = 2 }

    let name: String
    let provider: String
    let configuration: ProviderConfiguration
    /// Signs a delivery of this body at `timestamp`.
    let sign: @Sendable (Credential, Int64, [UInt8]) throws -> SignedWebhook
    /// The delivery's body at a timestamp (it may depend on it: Linear).
    let body: @Sendable (Int64) -> [UInt8]
    /// Whether the scheme holds a timestamp to the tolerance.
    let timestamped: Bool
    /// Whether the scheme authenticates the body (GitLab's plain token does not).
    var bodyAuthenticated = true
    /// The header whose duplication with another value must be refused.
    let signatureHeader: String
    /// Headers whose absence is a 400 `missing_header`.
    let requiredHeaders: [String]
    let event: String
    let id: String
    let key: String?
    /// The routing header naming the event, if the scheme has one: without it the delivery is
    /// still accepted, as `unknown`.
    var eventHeader: String? = nil

    var testDescription: String { self.name }

    /// A delivery signed with `credential` at `timestamp`, of the fixture's body or of `body`.
    func request(_ credential: Credential = .current, timestamp: Int64 = now, body: [UInt8]? = nil) throws -> WebhookRequest {
        let body = body ?? self.body(timestamp)
        let signed = try self.sign(credential, timestamp, body)
        return WebhookRequest(headerFields: signed.headerFields, body: body, url: signed.url, now: now)
    }

    func verifier() throws -> any WebhookVerifier {
        try WebhookProviders.makeVerifier(provider: self.provider, configuration: self.configuration)
    }

    /// A fixture for a provider whose credentials are plain secrets.
    static func secrets(
        _ provider: String,
        name: String? = nil,
        configuration: ProviderConfiguration = ProviderConfiguration(),
        secrets: [String] = ["current-secret", "rotated-secret", "wrong-secret"],
        body: @escaping @Sendable (Int64) -> [UInt8],
        event: String?,
        id: String,
        key: String? = nil,
        url: String? = nil,
        timestamped: Bool = false,
        bodyAuthenticated: Bool = true,
        signatureHeader: String,
        requiredHeaders: [String] = [],
        eventHeader: String? = nil,
        expectedEvent: String,
        expectedID: String? = nil,
        expectedKey: String?
    ) -> ProviderFixture {
        var configuration = configuration
        configuration.secrets = Array(secrets.prefix(2))
        let configured = configuration
        var fixture = ProviderFixture(
            name: name ?? provider,
            provider: provider,
            configuration: configured,
            sign: { credential, timestamp, body in
                try WebhookProviders.sign(
                    provider: provider,
                    WebhookSigningInput(
                        secret: secrets[credential.rawValue],
                        body: body,
                        event: event,
                        id: id,
                        key: key,
                        timestamp: timestamp,
                        url: url,
                        configuration: configured
                    )
                )
            },
            body: body,
            timestamped: timestamped,
            signatureHeader: signatureHeader,
            requiredHeaders: requiredHeaders,
            event: expectedEvent,
            id: expectedID ?? id,
            key: expectedKey
        )
        fixture.bodyAuthenticated = bodyAuthenticated
        fixture.eventHeader = eventHeader
        return fixture
    }

    static let standardWebhooksV1: ProviderFixture = .secrets(
        "standard-webhooks",
        name: "standard-webhooks (v1)",
        configuration: ProviderConfiguration(keyJSONPointer: "/data/id"),
        secrets: TestKeys.whsec,
        body: { _ in bytes(#"{"type":"user.created","data":{"id":"u1"}}"#) },
        event: nil,
        id: "msg_1",
        timestamped: true,
        signatureHeader: "webhook-signature",
        requiredHeaders: ["webhook-id", "webhook-timestamp"],
        expectedEvent: "user.created",
        expectedKey: "u1"
    )

    /// The same deliveries with every header whose name starts with `prefix` sent under
    /// `replacement` instead (Svix's `svix-` names for Standard Webhooks' `webhook-` ones).
    func renamingHeaders(_ prefix: String, to replacement: String, name: String) -> ProviderFixture {
        let renamed = { @Sendable (header: String) in header.lowercased().hasPrefix(prefix) ? replacement + header.dropFirst(prefix.count) : header }
        let sign = self.sign
        var fixture = ProviderFixture(
            name: name,
            provider: self.provider,
            configuration: self.configuration,
            sign: { credential, timestamp, body in
                let signed = try sign(credential, timestamp, body)
                let fields = signed.headerFields.map { HTTPField(name: HTTPField.Name(renamed($0.name.canonicalName))!, value: $0.value) }
                return SignedWebhook(headerFields: HTTPFields(fields), url: signed.url)
            },
            body: self.body,
            timestamped: self.timestamped,
            signatureHeader: renamed(self.signatureHeader),
            requiredHeaders: self.requiredHeaders.map(renamed),
            event: self.event,
            id: self.id,
            key: self.key
        )
        fixture.bodyAuthenticated = self.bodyAuthenticated
        fixture.eventHeader = self.eventHeader.map(renamed)
        return fixture
    }

    static let all: [ProviderFixture] = [
        .secrets(
            "github",
            body: { _ in bytes(#"{"ref":"refs/heads/main","repository":{"id":1,"full_name":"octo/hello"}}"#) },
            event: "push",
            id: "d6e1c7a0-0001",
            signatureHeader: "X-Hub-Signature-256",
            requiredHeaders: ["X-GitHub-Delivery"],
            eventHeader: "X-GitHub-Event",
            expectedEvent: "push",
            expectedKey: "octo/hello"
        ),
        .secrets(
            "gitlab",
            name: "gitlab (token)",
            body: { _ in bytes(#"{"object_kind":"merge_request","project":{"path_with_namespace":"group/app"}}"#) },
            event: "merge_request",
            id: "idem-1",
            bodyAuthenticated: false,
            signatureHeader: "X-Gitlab-Token",
            eventHeader: "X-Gitlab-Event",
            expectedEvent: "merge_request",
            expectedKey: "group/app"
        ),
        ProviderFixture(
            name: "gitlab (signing token)",
            provider: "gitlab",
            configuration: ProviderConfiguration(signingTokens: Array(TestKeys.whsec.prefix(2))),
            sign: { credential, timestamp, body in
                try WebhookProviders.sign(
                    provider: "gitlab",
                    WebhookSigningInput(
                        signingToken: TestKeys.whsec[credential.rawValue],
                        body: body,
                        event: "tag_push",
                        id: "idem-2",
                        timestamp: timestamp
                    )
                )
            },
            body: { _ in bytes(#"{"object_kind":"tag_push","project":{"path_with_namespace":"group/app"}}"#) },
            timestamped: true,
            signatureHeader: "webhook-signature",
            requiredHeaders: ["webhook-id", "webhook-timestamp"],
            event: "tag_push",
            id: "idem-2",
            key: "group/app",
            eventHeader: "X-Gitlab-Event"
        ),
        .secrets(
            "stripe",
            secrets: ["whsec_current", "whsec_rotated", "whsec_wrong"],
            body: { _ in bytes(#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#) },
            event: nil,
            id: "evt_1",
            timestamped: true,
            signatureHeader: "Stripe-Signature",
            expectedEvent: "payment_intent.succeeded",
            expectedKey: "pi_1"
        ),
        .secrets(
            "shopify",
            body: { _ in bytes(#"{"id":820982911946154508,"email":"jon@example.com"}"#) },
            event: "orders.create",
            id: "evt-shopify-1",
            key: "shop.myshopify.com",
            signatureHeader: "X-Shopify-Hmac-Sha256",
            eventHeader: "X-Shopify-Topic",
            expectedEvent: "orders.create",
            expectedKey: "shop.myshopify.com"
        ),
        .secrets(
            "slack",
            body: { _ in bytes(#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention","text":"hi"}}"#) },
            event: nil,
            id: "Ev1",
            timestamped: true,
            signatureHeader: "X-Slack-Signature",
            requiredHeaders: ["X-Slack-Request-Timestamp"],
            expectedEvent: "app_mention",
            expectedKey: "T1"
        ),
        .secrets(
            "twilio",
            configuration: ProviderConfiguration(publicURL: "https://hooks.example.com/twilio"),
            body: { _ in bytes(formEncode([("CallSid", "CA1"), ("CallStatus", "ringing"), ("From", "+15555550100")])) },
            event: nil,
            id: "idempotency-1",
            url: "https://hooks.example.com/twilio?source=main",
            signatureHeader: "X-Twilio-Signature",
            expectedEvent: "call.ringing",
            expectedKey: "CA1"
        ),
        standardWebhooksV1,
        standardWebhooksV1.renamingHeaders("webhook-", to: "svix-", name: "standard-webhooks (v1, Svix's svix- headers)"),
        ProviderFixture(
            name: "standard-webhooks (v1a)",
            provider: "standard-webhooks",
            configuration: ProviderConfiguration(publicKeys: Array(TestKeys.whpk.prefix(2))),
            sign: { credential, timestamp, body in
                try WebhookProviders.sign(
                    provider: "standard-webhooks",
                    WebhookSigningInput(
                        privateKey: TestKeys.whsk[credential.rawValue],
                        body: body,
                        id: "msg_2",
                        timestamp: timestamp
                    )
                )
            },
            body: { _ in bytes(#"{"type":"invoice.paid"}"#) },
            timestamped: true,
            signatureHeader: "webhook-signature",
            requiredHeaders: ["webhook-id", "webhook-timestamp"],
            event: "invoice.paid",
            id: "msg_2",
            key: nil
        ),
        ProviderFixture(
            name: "discord",
            provider: "discord",
            configuration: ProviderConfiguration(publicKeys: Array(TestKeys.publicHex.prefix(2))),
            sign: { credential, timestamp, body in
                try WebhookProviders.sign(
                    provider: "discord",
                    WebhookSigningInput(
                        privateKey: TestKeys.seedHex[credential.rawValue],
                        body: body,
                        timestamp: timestamp
                    )
                )
            },
            body: { _ in bytes(#"{"type":2,"id":"i1","guild_id":"g1","data":{"name":"hello"}}"#) },
            timestamped: true,
            signatureHeader: "X-Signature-Ed25519",
            requiredHeaders: ["X-Signature-Timestamp"],
            event: "application_command",
            id: "i1",
            key: "g1"
        ),
        .secrets(
            "hmac-sha256",
            configuration: ProviderConfiguration(
                signaturePrefix: "sha256=",
                eventTypeHeader: "X-Event-Type",
                idHeader: "X-Delivery",
                keyJSONPointer: "/account"
            ),
            body: { _ in bytes(#"{"account":"acct-9","amount":3}"#) },
            event: "invoice.paid",
            id: "delivery-9",
            signatureHeader: "X-Signature",
            requiredHeaders: ["X-Delivery"],
            eventHeader: "X-Event-Type",
            expectedEvent: "invoice.paid",
            expectedKey: "acct-9"
        ),
        .secrets(
            "square",
            configuration: ProviderConfiguration(publicURL: "https://hooks.example.com/square"),
            body: { _ in bytes(#"{"merchant_id":"M1","type":"payment.created","event_id":"e1","data":{"type":"payment","id":"p1"}}"#) },
            event: nil,
            id: "e1",
            url: "https://hooks.example.com/square",
            signatureHeader: "x-square-hmacsha256-signature",
            expectedEvent: "payment.created",
            expectedKey: "p1"
        ),
        .secrets(
            "paddle",
            body: { _ in bytes(#"{"event_id":"evt_01","event_type":"subscription.created","occurred_at":"2024-01-01T00:00:00Z","data":{"id":"sub_01"}}"#) },
            event: nil,
            id: "evt_01",
            timestamped: true,
            signatureHeader: "Paddle-Signature",
            expectedEvent: "subscription.created",
            expectedKey: "sub_01"
        ),
        .secrets(
            "linear",
            body: { timestamp in
                bytes(#"{"action":"create","type":"Issue","data":{"id":"iss-1","title":"T"},"webhookTimestamp":"# + String(timestamp * 1000 + 123) + "}")
            },
            event: nil,
            id: "delivery-linear-1",
            timestamped: true,
            signatureHeader: "Linear-Signature",
            expectedEvent: "issue.create",
            expectedKey: "iss-1"
        ),
        .secrets(
            "intercom",
            body: { _ in bytes(#"{"type":"notification_event","topic":"conversation.user.created","id":"notif_1","data":{"item":{"type":"conversation","id":"c1"}}}"#) },
            event: nil,
            id: "notif_1",
            signatureHeader: "X-Hub-Signature",
            expectedEvent: "conversation.user.created",
            expectedKey: "c1"
        ),
    ]
}
