import Foundation
import HTTPTypes
import HooklineWebhooks
import Testing

/// The shipped samples: every provider has some, and every one, signed as its provider would sign
/// it, passes that provider's verifier with exactly the routing facts the sample promises.
@Suite("Webhook samples")
struct SampleTests {
    /// One sample signed with one kind of credential.
    struct Case: Sendable, CustomTestStringConvertible {
        enum Credential: String, Sendable {
            /// A shared secret (HMAC key, GitLab token, Twilio auth token, `whsec_…`).
            case secret
            /// An Ed25519 private key (Discord, Standard Webhooks `v1a`).
            case privateKey = "private key"
            /// A GitLab 19+ signing token.
            case signingToken = "signing token"
        }

        let sample: WebhookSample
        let credential: Credential

        var testDescription: String { "\(self.sample.provider) \(self.sample.event) (\(self.credential.rawValue))" }

        /// Whether a changed body must be refused (GitLab's plain token does not cover the body).
        var bodyAuthenticated: Bool { !(self.sample.provider == "gitlab" && self.credential == .secret) }

        /// The sample's configuration with this credential's verifying half: `other` selects a
        /// different credential of the same kind.
        func configuration(other: Bool = false) -> ProviderConfiguration {
            var configuration = self.sample.configuration
            let index = other ? 1 : 0
            switch self.credential {
            case .secret:
                configuration.secrets = [Self.secret(self.sample.provider, index)]
            case .privateKey:
                configuration.publicKeys = [self.sample.provider == "discord" ? TestKeys.publicHex[index] : TestKeys.whpk[index]]
            case .signingToken:
                configuration.signingTokens = [TestKeys.whsec[index]]
            }
            return configuration
        }

        func verifier(other: Bool = false) throws -> any WebhookVerifier {
            try WebhookProviders.makeVerifier(provider: self.sample.provider, configuration: self.configuration(other: other))
        }

        /// The signing input with this credential's signing half.
        func input(timestamp: Int64 = now) -> WebhookSigningInput {
            let provider = self.sample.provider
            switch self.credential {
            case .secret:
                return self.sample.signingInput(secret: Self.secret(provider, 0), timestamp: timestamp)
            case .privateKey:
                let key = provider == "discord" ? TestKeys.seedHex[0] : TestKeys.whsk[0]
                return self.sample.signingInput(privateKey: key, timestamp: timestamp)
            case .signingToken:
                return self.sample.signingInput(signingToken: TestKeys.whsec[0], timestamp: timestamp)
            }
        }

        /// The delivery as the gateway receives it, signed at `timestamp`, received at `now`.
        func request(timestamp: Int64 = now, body: (([UInt8]) -> [UInt8])? = nil) throws -> (WebhookRequest, SignedWebhook) {
            let input = self.input(timestamp: timestamp)
            let signed = try WebhookProviders.sign(provider: self.sample.provider, input)
            let sent = body?(input.body) ?? input.body
            return (WebhookRequest(headerFields: signed.headerFields, body: sent, url: signed.url, now: now), signed)
        }

        static func secret(_ provider: String, _ index: Int) -> String {
            provider == "standard-webhooks" ? TestKeys.whsec[index] : ["sample-secret-", "other-secret-"][index] + provider
        }

        static let all: [Case] = WebhookSamples.all.flatMap { sample -> [Case] in
            switch sample.provider {
            case "discord": [Case(sample: sample, credential: .privateKey)]
            case "standard-webhooks": [Case(sample: sample, credential: .secret), Case(sample: sample, credential: .privateKey)]
            case "gitlab": [Case(sample: sample, credential: .secret), Case(sample: sample, credential: .signingToken)]
            default: [Case(sample: sample, credential: .secret)]
            }
        }

        /// The first case of every sample.
        static let onePerSample: [Case] = WebhookSamples.all.map { sample in
            Case(sample: sample, credential: sample.provider == "discord" ? .privateKey : .secret)
        }
    }

    /// The events the samples promise, by provider.
    static let promised: [(provider: String, event: String)] = [
        ("github", "push"), ("github", "pull_request"), ("github", "issues"), ("github", "ping"),
        ("gitlab", "push"), ("gitlab", "merge_request"),
        ("stripe", "payment_intent.succeeded"), ("stripe", "payment_intent.payment_failed"),
        ("stripe", "charge.refunded"), ("stripe", "checkout.session.completed"),
        ("shopify", "orders.create"), ("shopify", "orders.updated"), ("shopify", "orders.paid"), ("shopify", "orders.cancelled"),
        ("slack", "app_mention"), ("slack", "message"),
        ("twilio", "message.delivered"), ("twilio", "call.completed"),
        ("standard-webhooks", "invoice.paid"),
        ("discord", "application_command"),
        ("hmac-sha256", "new_order"), ("hmac-sha256", "payment_success"),
        ("square", "payment.updated"),
        ("paddle", "transaction.completed"),
        ("linear", "issue.create"),
        ("intercom", "conversation.user.created"),
    ]

    // MARK: - Coverage

    @Test func everyProviderHasSamples() {
        for name in WebhookProviders.names {
            #expect(!WebhookSamples.samples(provider: name).isEmpty, "No sample for \(name)")
        }
        #expect(WebhookSamples.providers == WebhookProviders.names)
        #expect(Set(WebhookSamples.all.map(\.provider)).isSubset(of: WebhookProviders.names))
    }

    @Test func everyPromisedEventHasASample() {
        for (provider, event) in Self.promised {
            let sample = WebhookSamples.sample(provider: provider, event: event)
            #expect(sample?.provider == provider && sample?.event == event, "No \(provider) sample for \(event)")
        }
        #expect(WebhookSamples.sample(provider: "github", event: "no_such_event") == nil)
        #expect(WebhookSamples.samples(provider: "no-such-provider").isEmpty)
    }

    @Test func samplesAreUniqueByProviderAndEvent() {
        let pairs = WebhookSamples.all.map { $0.provider + " " + $0.event }
        #expect(Set(pairs).count == pairs.count, "\(pairs)")
    }

    // MARK: - Signing and verifying

    @Test(arguments: Case.all)
    func signedSampleVerifiesWithItsPromisedFacts(_ test: Case) throws {
        let (request, _) = try test.request()
        let verified = try test.verifier().verify(request)
        #expect(verified.event == test.sample.event)
        #expect(verified.id == test.sample.expectedID)
        #expect(verified.key == test.sample.expectedKey)
        #expect(verified.ceType == test.sample.provider + "." + test.sample.event)
        #expect(verified.publish)
        #expect(!test.sample.expectedID.isEmpty)
    }

    @Test(arguments: Case.all)
    func otherCredentialIsRefused(_ test: Case) throws {
        let (request, _) = try test.request()
        let verifier = try test.verifier(other: true)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test(arguments: Case.all.filter(\.bodyAuthenticated))
    func changedBodyIsRefused(_ test: Case) throws {
        let (request, _) = try test.request { body in
            var changed = body
            changed[changed.count / 2] ^= 0x01
            return changed
        }
        let verifier = try test.verifier()
        do {
            let verified = try verifier.verify(request)
            Issue.record("A changed body verified: \(verified)")
        } catch {
            #expect(error.reason == .badSignature, "\(error)")
        }
    }

    // MARK: - Bodies

    @Test(arguments: Case.onePerSample)
    func bodyMatchesItsContentType(_ test: Case) throws {
        let (_, signed) = try test.request()
        let contentType = try #require(signed.headerFields[.contentType])
        let body = test.sample.body
        if contentType.contains("json") {
            let object = try JSONSerialization.jsonObject(with: Data(body))
            // Twilio Event Streams posts a batch of CloudEvents as an array.
            let batch = test.sample.provider == "twilio" ? (object as? [Any])?.first : nil
            #expect((batch ?? object) is [String: Any], "A \(test.sample.provider) body is not a JSON object")
        } else {
            #expect(contentType == "application/x-www-form-urlencoded")
            let text = try #require(String(validating: body, as: UTF8.self))
            let pairs = text.split(separator: "&")
            #expect(pairs.count > 3)
            #expect(pairs.allSatisfy { $0.contains("=") && !$0.contains(" ") })
        }
        #expect((256...2048).contains(body.count), "\(test.sample.provider) \(test.sample.event) is \(body.count) bytes")
    }

    @Test func linearBodyIsRestampedAtSigning() throws {
        let sample = try #require(WebhookSamples.sample(provider: "linear", event: "issue.create"))
        let stamped = try JSONSerialization.jsonObject(with: Data(sample.body(at: now))) as? [String: Any]
        let original = try JSONSerialization.jsonObject(with: Data(sample.body)) as? [String: Any]
        #expect((stamped?["webhookTimestamp"] as? NSNumber)?.int64Value == now * 1000)
        #expect((original?["webhookTimestamp"] as? NSNumber)?.int64Value != now * 1000)
        #expect(stamped?.count == original?.count)

        // Signed over the recorded body, the delivery is stale: the restamp is what makes it fresh.
        var input = sample.signingInput(secret: "sample-secret-linear", timestamp: now)
        input.body = sample.body
        let signed = try WebhookProviders.sign(provider: "linear", input)
        var configuration = sample.configuration
        configuration.secrets = ["sample-secret-linear"]
        let verifier = try WebhookProviders.makeVerifier(provider: "linear", configuration: configuration)
        let request = WebhookRequest(headerFields: signed.headerFields, body: sample.body, now: now)
        expectRefusal(.timestampOutOfTolerance, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func samplesWithoutAnInBodyTimestampAreSignedAsRecorded() {
        for sample in WebhookSamples.all where sample.provider != "linear" {
            #expect(sample.body(at: now) == sample.body, "\(sample.provider) \(sample.event)")
        }
    }

    // MARK: - Correlation

    /// Order `ord_1001` (Shopify order 820982911946154508) is the same order across providers.
    @Test func orderSamplesShareTheirIDs() throws {
        func json(_ provider: String, _ event: String) throws -> [String: Any] {
            let sample = try #require(WebhookSamples.sample(provider: provider, event: event))
            return try #require(try JSONSerialization.jsonObject(with: Data(sample.body)) as? [String: Any])
        }
        func member(_ object: [String: Any], _ path: String...) -> Any? {
            var value: Any? = object
            for name in path { value = (value as? [String: Any])?[name] }
            return value
        }

        for event in ["orders.create", "orders.updated", "orders.paid", "orders.cancelled"] {
            let order = try json("shopify", event)
            #expect((order["id"] as? NSNumber)?.int64Value == 820_982_911_946_154_508, "\(event)")
            #expect(order["total_price"] as? String == "49.90", "\(event)")
            #expect(order["currency"] as? String == "EUR", "\(event)")
            #expect(member(order, "customer", "email") as? String == "jon@example.com", "\(event)")
            #expect(order["created_at"] as? String != nil, "\(event)")
        }
        for event in ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded", "checkout.session.completed"] {
            let stripe = try json("stripe", event)
            #expect(member(stripe, "data", "object", "metadata", "order_id") as? String == "ord_1001", "\(event)")
            #expect(member(stripe, "data", "object", "currency") as? String == "eur", "\(event)")
            #expect(member(stripe, "data", "object", "customer") as? String == "cus_Q5hZ8xY2mN4kLp", "\(event)")
        }
        let newOrder = try json("hmac-sha256", "new_order")
        #expect(newOrder["event_type"] as? String == "new_order")
        #expect(newOrder["order_id"] as? String == "ord_1001")
        #expect(newOrder["total"] as? String == "49.90")
        #expect(newOrder["currency"] as? String == "EUR")
        #expect((newOrder["shop_order_id"] as? NSNumber)?.int64Value == 820_982_911_946_154_508)
        let payment = try json("hmac-sha256", "payment_success")
        #expect(payment["event_type"] as? String == "payment_success")
        #expect(payment["payment_id"] as? String == "pay_2001")
        #expect(payment["order_id"] as? String == "ord_1001")
        #expect(payment["amount"] as? String == "49.90")
    }

    /// The fields the brief names for GitHub and GitLab deliveries.
    @Test func sourceControlSamplesCarryTheirRoutingFields() throws {
        func json(_ provider: String, _ event: String) throws -> [String: Any] {
            let sample = try #require(WebhookSamples.sample(provider: provider, event: event))
            return try #require(try JSONSerialization.jsonObject(with: Data(sample.body)) as? [String: Any])
        }
        let push = try json("github", "push")
        #expect(push["ref"] as? String == "refs/heads/main")
        #expect((push["after"] as? String)?.count == 40)
        #expect((push["head_commit"] as? [String: Any])?["id"] as? String == push["after"] as? String)
        #expect((push["repository"] as? [String: Any])?["full_name"] as? String == "hookline/gateway")

        let pull = try json("github", "pull_request")
        let pullRequest = try #require(pull["pull_request"] as? [String: Any])
        let head = try #require(pullRequest["head"] as? [String: Any])
        #expect(pull["action"] as? String == "opened")
        #expect(pull["number"] as? Int == 42)
        #expect((head["sha"] as? String)?.count == 40)
        #expect(head["ref"] as? String == "retry-transient")

        let gitlabPush = try json("gitlab", "push")
        #expect(gitlabPush["object_kind"] as? String == "push")
        #expect(gitlabPush["ref"] as? String == "refs/heads/main")
        #expect((gitlabPush["checkout_sha"] as? String)?.count == 40)
        #expect((gitlabPush["project"] as? [String: Any])?["path_with_namespace"] as? String == "acme/billing")
    }
}
