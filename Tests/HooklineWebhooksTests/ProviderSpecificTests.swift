import Crypto
import Foundation
import HTTPTypes
import HooklineTestSupport
import Testing

@testable import HooklineWebhooks

private func sign(_ provider: String, _ input: WebhookSigningInput) throws -> WebhookRequest {
    let signed = try WebhookProviders.sign(provider: provider, input)
    return WebhookRequest(headerFields: signed.headerFields, body: input.body, url: signed.url, now: now)
}

private func verifier(_ provider: String, _ configuration: ProviderConfiguration) throws -> any WebhookVerifier {
    try WebhookProviders.makeVerifier(provider: provider, configuration: configuration)
}

@Suite("GitHub")
struct GitHubTests {
    // A hook created with content type `form` (the REST API's default) posts `payload=<JSON>`.
    @Test func formEncodedDeliveriesAreKeyedByTheirRepository() throws {
        let json = #"{"ref":"refs/heads/main","repository":{"full_name":"octo/hello world"}}"#
        for body in [bytes(formEncode([("payload", json)])), bytes(json)] {
            let request = try sign("github", WebhookSigningInput(secret: "gh", body: body, event: "push", id: "d-1", timestamp: now))
            let verified = try verifier("github", ProviderConfiguration(secrets: ["gh"])).verify(request)
            #expect(verified.key == "octo/hello world")
            #expect(verified.id == "d-1")
        }
        #expect(GitHubVerifier.repositoryName(in: bytes("other=1")) == nil)
    }
}

@Suite("GitLab")
struct GitLabTests {
    let configuration = ProviderConfiguration(secrets: ["token"])

    @Test(arguments: [
        ("Push Hook", "push", "push"),
        ("Tag Push Hook", "tag_push", "tag_push"),
        ("Merge Request Hook", "merge_request", "merge_request"),
        ("Pipeline Hook", "pipeline", "pipeline"),
        ("Note Hook", "note", "note"),
        ("Issue Hook", "issue", "issue"),
        ("Confidential Issue Hook", "issue", "confidential_issue"),
        // Tasks, epics and other work items come as issue events.
        ("Issue Hook", "work_item", "issue"),
        ("Confidential Issue Hook", "work_item", "confidential_issue"),
        ("Work Item Hook", "work_item", "work_item"),
        ("Job Hook", "build", "job"),
        ("Wiki Page Hook", "wiki_page", "wiki_page"),
    ])
    func eventHeaderIsNormalisedAndMatchesObjectKind(header: String, kind: String, event: String) throws {
        let body = bytes(#"{"object_kind":""# + kind + #"","project":{"path_with_namespace":"g/p"}}"#)
        let request = WebhookRequest(
            headerFields: fields([("X-Gitlab-Token", "token"), ("X-Gitlab-Event", header), ("X-Gitlab-Event-UUID", "uuid-1")]),
            body: body,
            now: now
        )
        let verified = try verifier("gitlab", self.configuration).verify(request)
        #expect(verified.event == event)
        #expect(verified.id == "uuid-1")
        #expect(verified.ceType == "gitlab." + event)
        #expect(GitLabVerifier.normalise(GitLabVerifier.headerValue(event)) == event)
    }

    @Test func eventContradictingTheBodyIsABadRequest() throws {
        let request = WebhookRequest(
            headerFields: fields([("X-Gitlab-Token", "token"), ("X-Gitlab-Event", "Push Hook")]),
            body: bytes(#"{"object_kind":"merge_request"}"#),
            now: now
        )
        let verifier = try verifier("gitlab", self.configuration)
        expectRefusal(.eventMismatch, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    // The event header is not signed: a captured confidential issue or note re-sent as
    // `Issue Hook` or `Note Hook` must not reach the topic of the non-confidential ones.
    @Test(arguments: [
        ("Issue Hook", #"{"object_kind":"issue","object_attributes":{"confidential":true}}"#, "confidential_issue"),
        ("Issue Hook", #"{"object_kind":"work_item","object_attributes":{"confidential":true}}"#, "confidential_issue"),
        ("Issue Hook", #"{"object_kind":"issue","object_attributes":{"confidential":false}}"#, "issue"),
        ("Note Hook", #"{"object_kind":"note","object_attributes":{"internal":true,"confidential":false}}"#, "confidential_note"),
        ("Note Hook", #"{"object_kind":"note","object_attributes":{"confidential":true}}"#, "confidential_note"),
        ("Note Hook", #"{"object_kind":"note","object_attributes":{"internal":false},"issue":{"confidential":true}}"#, "confidential_note"),
        ("Note Hook", #"{"object_kind":"note","object_attributes":{"internal":false},"issue":{"confidential":false}}"#, "note"),
        ("Note Hook", #"{"object_kind":"note","object_attributes":{"note":"confidential: true"}}"#, "note"),
        // The header may be stricter than the body, never looser.
        ("Confidential Issue Hook", #"{"object_kind":"issue","object_attributes":{"confidential":false}}"#, "confidential_issue"),
        ("Confidential Note Hook", #"{"object_kind":"note","object_attributes":{"internal":false}}"#, "confidential_note"),
    ])
    func confidentialBodyKeepsItsConfidentialTopic(header: String, body: String, event: String) throws {
        let request = WebhookRequest(
            headerFields: fields([("X-Gitlab-Token", "token"), ("X-Gitlab-Event", header)]),
            body: bytes(body),
            now: now
        )
        #expect(try verifier("gitlab", self.configuration).verify(request).event == event)
    }

    @Test func idempotencyKeyWinsOverEventUUID() throws {
        let request = WebhookRequest(
            headerFields: fields([
                ("X-Gitlab-Token", "token"), ("X-Gitlab-Event", "Push Hook"),
                ("X-Gitlab-Event-UUID", "uuid-1"), ("Idempotency-Key", "idem-1"),
            ]),
            body: bytes(#"{"object_kind":"push"}"#),
            now: now
        )
        let verified = try verifier("gitlab", self.configuration).verify(request)
        #expect(verified.id == "idem-1")
        #expect(verified.key == nil)
    }

    // GitLab 19+ signs `<webhook-id>.<timestamp>.<body>`; the id headers are not signed.
    @Test func signedDeliveryKeepsItsSignedID() throws {
        let configuration = ProviderConfiguration(signingTokens: [TestKeys.whsec[0]])
        let body = bytes(#"{"object_kind":"push"}"#)
        let signed = try sign("gitlab", WebhookSigningInput(signingToken: TestKeys.whsec[0], body: body, event: "push", id: "signed-id", timestamp: now))
        let verifier = try verifier("gitlab", configuration)
        #expect(try verifier.verify(signed).id == "signed-id")
        // Sent again within the tolerance under fresh unsigned ids: still the same delivery.
        var replayed = signed
        replayed.headerFields[HTTPField.Name("Idempotency-Key")!] = "replay-1"
        replayed.headerFields[HTTPField.Name("X-Gitlab-Event-UUID")!] = "replay-2"
        #expect(try verifier.verify(replayed).id == "signed-id")
    }

    @Test func systemHookTakesTheBodysEventName() throws {
        let request = WebhookRequest(
            headerFields: fields([("X-Gitlab-Token", "token"), ("X-Gitlab-Event", "System Hook")]),
            body: bytes(#"{"event_name":"project_create","name":"p"}"#),
            now: now
        )
        #expect(try verifier("gitlab", self.configuration).verify(request).event == "project_create")
    }

    @Test func nonJSONBodyIsMalformed() throws {
        let request = WebhookRequest(
            headerFields: fields([("X-Gitlab-Token", "token"), ("X-Gitlab-Event", "Push Hook")]),
            body: bytes("object_kind=push"),
            now: now
        )
        let verifier = try verifier("gitlab", self.configuration)
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    // Moving hooks from tokens to signing: each hook sends what it has, and what it sends must be right.
    @Test func withTokensAndSigningTokensConfiguredEitherSuffices() throws {
        let configuration = ProviderConfiguration(secrets: ["token"], signingTokens: [TestKeys.whsec[0]])
        let body = bytes(#"{"object_kind":"push"}"#)
        let both = try sign("gitlab", WebhookSigningInput(secret: "token", signingToken: TestKeys.whsec[0], body: body, event: "push", id: "i", timestamp: now))
        let verifier = try verifier("gitlab", configuration)
        #expect(try verifier.verify(both).event == "push")
        #expect(both.headerFields[HTTPField.Name("Idempotency-Key")!] == both.headerFields[HTTPField.Name("webhook-id")!])

        var tokenOnly = both
        tokenOnly.headerFields[HTTPField.Name("webhook-signature")!] = nil
        #expect(try verifier.verify(tokenOnly).event == "push")
        var signedOnly = both
        signedOnly.headerFields[HTTPField.Name("X-Gitlab-Token")!] = nil
        #expect(try verifier.verify(signedOnly).event == "push")

        var neither = tokenOnly
        neither.headerFields[HTTPField.Name("X-Gitlab-Token")!] = nil
        expectRefusal(.missingSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(neither) }
        var wrongToken = both
        wrongToken.headerFields[HTTPField.Name("X-Gitlab-Token")!] = "token2"
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(wrongToken) }
        var wrongSignature = both
        wrongSignature.headerFields[HTTPField.Name("webhook-signature")!] = "v1,AAAA"
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(wrongSignature) }
    }
}

@Suite("Standard Webhooks")
struct StandardWebhooksTests {
    @Test("a delivery carrying a header under both its webhook- and its svix- name must carry one value")
    func bothSpellingsMustAgree() throws {
        let verifier = try WebhookProviders.makeVerifier(provider: "standard-webhooks", configuration: ProviderConfiguration(secrets: [TestKeys.whsec[0]]))
        func signed(_ secret: String) throws -> WebhookRequest {
            let signed = try WebhookProviders.sign(
                provider: "standard-webhooks",
                WebhookSigningInput(secret: secret, body: bytes(#"{"type":"a.b"}"#), id: "msg_9", timestamp: now)
            )
            return WebhookRequest(headerFields: signed.headerFields, body: bytes(#"{"type":"a.b"}"#), now: now)
        }
        let original = try signed(TestKeys.whsec[0])
        let svix = try #require(HTTPField.Name("svix-signature"))
        var same = original
        same.headerFields[svix] = original.headerFields[StandardWebhooksScheme.signatureHeader]
        #expect(try verifier.verify(same).id == "msg_9")

        var differing = original
        differing.headerFields[svix] = try signed(TestKeys.whsec[2]).headerFields[StandardWebhooksScheme.signatureHeader]
        expectRefusal(.duplicateSignatureHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(differing) }

        var otherID = original
        otherID.headerFields[HTTPField.Name("svix-id")!] = "msg_10"
        expectRefusal(.duplicateHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(otherID) }
    }

    // Each v1a entry costs an Ed25519 check (about 75 µs); a forged header filling the 80 KB
    // limit with them cost 65 ms of CPU before the limit.
    @Test("at most ten signatures are checked; more are refused unchecked")
    func signatureListIsBounded() throws {
        let body = bytes(#"{"type":"a.b"}"#)
        let verifier = try WebhookProviders.makeVerifier(provider: "standard-webhooks", configuration: ProviderConfiguration(publicKeys: [TestKeys.whpk[0]]))
        #expect(verifier.verifiesWithPublicKeys)
        let signed = try WebhookProviders.sign(
            provider: "standard-webhooks",
            WebhookSigningInput(privateKey: TestKeys.whsk[0], body: body, id: "msg_1", timestamp: now)
        )
        let good = try #require(signed.headerFields[StandardWebhooksScheme.signatureHeader])
        // 64 bytes that are no signature, and entries of the wrong length, which are skipped unchecked.
        let forged = "v1a," + Base64.encode([UInt8](repeating: 7, count: 64))
        func request(_ entries: [String]) -> WebhookRequest {
            var request = WebhookRequest(headerFields: signed.headerFields, body: body, now: now)
            request.headerFields[StandardWebhooksScheme.signatureHeader] = entries.joined(separator: " ")
            return request
        }
        let nine = Array(repeating: forged, count: 7) + ["v1a,AAAA", "v1,AAAA"]
        #expect(try verifier.verify(request(nine + [good])).id == "msg_1")
        expectRefusal(.tooManySignatures, .unauthorized) { () throws(WebhookError) in try verifier.verify(request(nine + [forged, good])) }
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request(nine)) }

        let hmacOnly = try WebhookProviders.makeVerifier(provider: "standard-webhooks", configuration: ProviderConfiguration(secrets: [TestKeys.whsec[0]]))
        #expect(!hmacOnly.verifiesWithPublicKeys)
    }
}

@Suite("Slack")
struct SlackTests {
    let configuration = ProviderConfiguration(secrets: ["slack-secret"])

    @Test func urlVerificationIsAnsweredWithTheChallengeAndNotPublished() throws {
        let body = bytes(#"{"token":"t","challenge":"3eZbrw1aB \"q\"","type":"url_verification"}"#)
        let request = try sign("slack", WebhookSigningInput(secret: "slack-secret", body: body, timestamp: now))
        let verified = try verifier("slack", self.configuration).verify(request)
        #expect(!verified.publish)
        #expect(verified.event == "url_verification")
        let reply = try #require(verified.reply)
        #expect(reply.status == .ok)
        #expect(reply.contentType == "application/json")
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"challenge":"3eZbrw1aB \"q\""}"#)
    }

    @Test func interactivityPayloadGivesItsType() throws {
        let payload = #"{"type":"block_actions","trigger_id":"13345224609.738474920.8088930838d88f008e0","team":{"id":"T9TK3CUKW"}}"#
        let body = bytes(formEncode([("payload", payload)]))
        let request = try sign("slack", WebhookSigningInput(secret: "slack-secret", body: body, timestamp: now))
        #expect(request.headerFields[.contentType] == "application/x-www-form-urlencoded")
        let verified = try verifier("slack", self.configuration).verify(request)
        #expect(verified.event == "block_actions")
        #expect(verified.id == "13345224609.738474920.8088930838d88f008e0")
        #expect(verified.key == "T9TK3CUKW")
        #expect(verified.publish)
        #expect(verified.reply == .emptyOK)
    }

    /// A body in the answer would be posted as the command's reply (or read as a modal's
    /// `response_action`): form deliveries get an empty 200 once published; Events API ones the
    /// gateway's 202.
    @Test func formDeliveriesAreAcknowledgedWithAnEmpty200() throws {
        let verifier = try verifier("slack", self.configuration)
        let command = bytes(formEncode([("command", "/deploy"), ("text", "main"), ("team_id", "T1"), ("trigger_id", "t.1")]))
        let slash = try verifier.verify(try sign("slack", WebhookSigningInput(secret: "slack-secret", body: command, timestamp: now)))
        #expect(slash.event == "slash_command")
        #expect(slash.reply == .emptyOK)
        #expect(slash.reply?.status == .ok && slash.reply?.body.isEmpty == true && slash.reply?.contentType == nil)
        let event = bytes(#"{"type":"event_callback","event_id":"Ev1","team_id":"T1","event":{"type":"app_mention"}}"#)
        let callback = try verifier.verify(try sign("slack", WebhookSigningInput(secret: "slack-secret", body: event, timestamp: now)))
        #expect(callback.reply == nil)
    }

    /// Slack's certificate check of a slash command URL: answered, whatever its signature, and
    /// never published; `ssl_check` other than 1 is an ordinary form delivery, signed or refused.
    @Test func sslCheckIsAnsweredAndNotPublished() throws {
        let verifier = try verifier("slack", self.configuration)
        let body = bytes(formEncode([("ssl_check", "1"), ("token", "gIkuvaNzQIHg97ATvDxqgjtO")]))
        let unsigned = WebhookRequest(headerFields: [.contentType: "application/x-www-form-urlencoded"], body: body, now: now)
        for request in [unsigned, try sign("slack", WebhookSigningInput(secret: "slack-secret", body: body, timestamp: now))] {
            let verified = try verifier.verify(request)
            #expect(!verified.publish)
            #expect(verified.event == "ssl_check")
            #expect(verified.reply == .emptyOK)
        }
        let notACheck = WebhookRequest(headerFields: [.contentType: "application/x-www-form-urlencoded"], body: bytes("ssl_check=0&token=t"), now: now)
        expectRefusal(.missingSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(notACheck) }
    }

    /// A large unsigned form is not parsed for `ssl_check` (a forged megabyte of parameters would
    /// cost a parse per request): it needs a signature like any delivery; signed, it is answered.
    @Test func largeFormIsNotParsedBeforeItsSignature() throws {
        let verifier = try verifier("slack", self.configuration)
        let body = bytes(String(repeating: "a&", count: 600_000) + "ssl_check=1")
        let unsigned = WebhookRequest(headerFields: [.contentType: "application/x-www-form-urlencoded"], body: body, now: now)
        expectRefusal(.missingSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(unsigned) }
        let signed = try verifier.verify(try sign("slack", WebhookSigningInput(secret: "slack-secret", body: body, timestamp: now)))
        #expect(signed.event == "ssl_check" && !signed.publish)
    }

    @Test func signatureWithoutVersionPrefixIsRefused() throws {
        var request = try sign("slack", WebhookSigningInput(secret: "slack-secret", body: bytes(#"{"type":"event_callback","event":{"type":"x"}}"#), timestamp: now))
        let name = HTTPField.Name("X-Slack-Signature")!
        request.headerFields[name] = String(request.headerFields[name]!.dropFirst(3))
        let verifier = try verifier("slack", self.configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func malformedTimestampIsABadRequest() throws {
        var request = try sign("slack", WebhookSigningInput(secret: "slack-secret", body: bytes("{}"), timestamp: now))
        request.headerFields[HTTPField.Name("X-Slack-Request-Timestamp")!] = "-17"
        let verifier = try verifier("slack", self.configuration)
        expectRefusal(.malformedHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func bodyThatIsNeitherJSONNorAFormIsMalformed() throws {
        let request = try sign("slack", WebhookSigningInput(secret: "slack-secret", body: bytes("[1]"), timestamp: now))
        let verifier = try verifier("slack", self.configuration)
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }
}

@Suite("Discord")
struct DiscordTests {
    let configuration = ProviderConfiguration(publicKeys: [TestKeys.publicHex[0]])

    func request(_ body: String) throws -> WebhookRequest {
        try sign("discord", WebhookSigningInput(privateKey: TestKeys.seedHex[0], body: bytes(body), timestamp: now))
    }

    @Test func pingIsAnsweredAndNotPublished() throws {
        let verified = try verifier("discord", self.configuration).verify(self.request(#"{"type":1,"id":"p1","application_id":"a"}"#))
        #expect(!verified.publish)
        #expect(verified.reply == .json(#"{"type":1}"#))
        #expect(verified.reply?.status == .ok)
    }

    /// Each interaction is published, then answered with the deferred response Discord accepts
    /// for its type; an unknown type gets the gateway's 202.
    @Test(arguments: [
        (2, "application_command", #"{"type":5}"#),
        (3, "message_component", #"{"type":6}"#),
        (4, "application_command_autocomplete", #"{"type":8,"data":{"choices":[]}}"#),
        (5, "modal_submit", #"{"type":5}"#),
        (9, "interaction_9", nil),
    ])
    func interactionTypesAreNamedAndDeferred(type: Int, event: String, reply: String?) throws {
        let verified = try verifier("discord", self.configuration).verify(self.request(#"{"type":"# + String(type) + #","id":"x","guild_id":"g"}"#))
        #expect(verified.event == event)
        #expect(verified.id == "x")
        #expect(verified.key == "g")
        #expect(verified.publish)
        #expect(verified.reply == reply.map { .json($0) })
    }

    static let authorized = #"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{}}}"#

    @Test func webhookEventUsesTheEventTypeAndIsAnswered204() throws {
        let verified = try verifier("discord", self.configuration).verify(self.request(Self.authorized))
        #expect(verified.event == "application_authorized")
        #expect(verified.publish)
        #expect(verified.reply == .noContent)
    }

    /// Webhook events carry no id: a retry (the same body, signed at another time) keeps the one
    /// derived from the body, and another event gets another.
    @Test func webhookEventIdIsDerivedFromTheBody() throws {
        let verifier = try verifier("discord", self.configuration)
        let first = try verifier.verify(self.request(Self.authorized)).id
        var retry = try sign("discord", WebhookSigningInput(privateKey: TestKeys.seedHex[0], body: bytes(Self.authorized), timestamp: now + 60))
        retry.now = now + 60
        #expect(try verifier.verify(retry).id == first)
        let other = Self.authorized.replacingOccurrences(of: "53.064834", with: "54.000001")
        #expect(try verifier.verify(self.request(other)).id != first)
        // A version 8 UUID: 8-4-4-4-12 lowercase hex, version digit 8, variant 8–b.
        let groups = first.split(separator: "-").map(String.init)
        #expect(groups.map(\.count) == [8, 4, 4, 4, 12])
        #expect(first.allSatisfy { "0123456789abcdef-".contains($0) })
        #expect(groups[2].first == "8")
        #expect("89ab".contains(groups[3].first!))
    }

    @Test func webhookEventPingIsAnswered204() throws {
        let verified = try verifier("discord", self.configuration).verify(self.request(#"{"version":1,"application_id":"1","type":0}"#))
        #expect(!verified.publish)
        #expect(verified.reply == .noContent)
    }

    @Test func bodyWithoutNumericTypeIsMalformed() throws {
        let verifier = try verifier("discord", self.configuration)
        let request = try self.request(#"{"type":"2"}"#)
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func signedTimestampIsPartOfTheMessage() throws {
        var request = try self.request(#"{"type":2,"id":"x"}"#)
        request.headerFields[HTTPField.Name("X-Signature-Timestamp")!] = String(now + 1)
        let verifier = try verifier("discord", self.configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }
}

@Suite("Twilio")
struct TwilioTests {
    let configuration = ProviderConfiguration(secrets: ["auth-token"], publicURL: "https://hooks.example.com/twilio")

    @Test func messageStatusCallbackRepliesWithEmptyTwiML() throws {
        let body = bytes(formEncode([("MessageSid", "SM1"), ("MessageStatus", "Delivered"), ("Body", "a b&c=d")]))
        var request = try sign("twilio", WebhookSigningInput(secret: "auth-token", body: body, timestamp: now, configuration: self.configuration))
        request.headerFields[HTTPField.Name("I-Twilio-Idempotency-Token")!] = nil
        let verified = try verifier("twilio", self.configuration).verify(request)
        #expect(verified.event == "message.delivered")
        #expect(verified.id == "SM1.delivered")
        #expect(verified.key == "SM1")
        #expect(verified.publish)
        #expect(verified.reply?.contentType == "text/xml")
        #expect(String(decoding: verified.reply!.body, as: UTF8.self) == "<Response/>")
    }

    // The parameters are decoded and sorted before the signature can be checked, so a forged form
    // of very many of them must not cost more than a look.
    @Test func aFormOfMoreThanAThousandParametersIsRefusedBeforeDecoding() throws {
        let verifier = try verifier("twilio", self.configuration)
        func request(parameters: Int) throws -> WebhookRequest {
            let pairs = [("MessageSid", "SM1"), ("MessageStatus", "sent")] + (2..<parameters).map { ("P\($0)", "v") }
            return try sign("twilio", WebhookSigningInput(secret: "auth-token", body: bytes(formEncode(pairs)), timestamp: now, configuration: self.configuration))
        }
        #expect(try verifier.verify(request(parameters: 1_000)).event == "message.sent")
        let tooMany = try request(parameters: 1_001)
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(tooMany) }
    }

    // …and so must a form of few but long parameters, alike up to their ends, whose sort would
    // walk each of them at every comparison.
    @Test func aFormOfMoreThan256KiBIsRefusedBeforeDecoding() throws {
        let verifier = try verifier("twilio", self.configuration)
        func request(filling size: Int) throws -> WebhookRequest {
            let head = formEncode([("MessageSid", "SM1"), ("MessageStatus", "sent"), ("Body", "")])
            let body = bytes(head + String(repeating: "a", count: size - head.utf8.count))
            return try sign("twilio", WebhookSigningInput(secret: "auth-token", body: body, timestamp: now, configuration: self.configuration))
        }
        #expect(try verifier.verify(request(filling: 262_144)).event == "message.sent")
        let tooLarge = try request(filling: 262_145)
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(tooLarge) }
    }

    @Test func jsonBodyIsBoundThroughBodySHA256() throws {
        let body = bytes(#"{"CallSid":"CA9","CallStatus":"completed"}"#)
        let request = try sign("twilio", WebhookSigningInput(secret: "auth-token", body: body, id: "tok", timestamp: now, configuration: self.configuration))
        #expect(request.url?.hasPrefix("https://hooks.example.com/twilio?bodySHA256=") == true)
        let verified = try verifier("twilio", self.configuration).verify(request)
        #expect(verified.event == "call.completed")
        #expect(verified.id == "tok")

        var tampered = request
        tampered.body = bytes(#"{"CallSid":"CA9","CallStatus":"failed"}"#)
        let verifier = try verifier("twilio", self.configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(tampered) }
    }

    // Event Streams' webhook sinks post CloudEvents: one object, or a batch as an array.
    @Test(arguments: [
        (#"{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","id":"EZ1","data":{"messageSid":"SM1"}}"#, "messaging.message.delivered", "EZ1", "SM1"),
        (#"[{"specversion":"1.0","type":"com.twilio.voice.insights.call-summary.complete","id":"EZ2","data":{"callSid":"CA2"}}]"#, "voice.insights.call-summary.complete", "EZ2", "CA2"),
        (#"[{"specversion":"1.0","type":"com.twilio.messaging.message.sent","id":"EZ3","data":{}},{"specversion":"1.0","type":"com.twilio.messaging.message.sent","id":"EZ4"}]"#, "messaging.message.sent", "EZ3", nil),
        (#"[{"specversion":"1.0","type":"com.twilio.messaging.message.sent","id":"EZ5"},{"specversion":"1.0","type":"com.twilio.messaging.message.failed","id":"EZ6"}]"#, "unknown", "EZ5", nil),
        (#"[{"type":"com.twilio.messaging.message.sent","id":"EZ7"}]"#, "unknown", nil, nil),
    ] as [(String, String, String?, String?)])
    func eventStreamsCloudEvents(body: String, event: String, id: String?, key: String?) throws {
        var request = try sign("twilio", WebhookSigningInput(secret: "auth-token", body: bytes(body), timestamp: now, configuration: self.configuration))
        request.headerFields[HTTPField.Name("I-Twilio-Idempotency-Token")!] = nil
        let verified = try verifier("twilio", self.configuration).verify(request)
        #expect(verified.event == event)
        if let id { #expect(verified.id == id) }
        #expect(verified.key == key)
        #expect(verified.ceType == "twilio." + event)
    }

    @Test func urlMatchesWithOrWithoutDefaultPort() throws {
        let body = bytes(formEncode([("CallSid", "CA1"), ("CallStatus", "ringing")]))
        let signed = try sign("twilio", WebhookSigningInput(secret: "auth-token", body: body, timestamp: now, url: "https://hooks.example.com:443/twilio"))
        var request = signed
        request.url = "https://hooks.example.com/twilio"
        #expect(try verifier("twilio", self.configuration).verify(request).event == "call.ringing")
        #expect(TwilioVerifier.portVariant(of: "https://a.example/x?y=1") == "https://a.example:443/x?y=1")
        #expect(TwilioVerifier.portVariant(of: "http://a.example:8080") == "http://a.example")
        #expect(TwilioVerifier.portVariant(of: "https://user:pass@a.example/x") == "https://user:pass@a.example:443/x")
        #expect(TwilioVerifier.portVariant(of: "https://user:pass@[::1]:8443/x") == "https://user:pass@[::1]/x")
    }

    // twilio-python's tests/unit/test_request_validator.py (test_compute_signature_duplicate_query_dict):
    // Twilio's SDKs sign a parameter repeated with the same value once.
    @Test func repeatedParameterSignedOnce() throws {
        let configuration = ProviderConfiguration(secrets: ["12345"], publicURL: "https://mycompany.com/myapp.php")
        let request = WebhookRequest(
            headerFields: fields([("X-Twilio-Signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU=")]),
            body: bytes("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"),
            url: "https://mycompany.com/myapp.php?foo=1&bar=2",
            now: now
        )
        #expect(try verifier("twilio", configuration).verify(request).event == "unknown")
        var distinct = request
        distinct.body = bytes("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=4321")
        let verifier = try verifier("twilio", configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(distinct) }
    }

    @Test func sha256WhenTheSettingsHeaderSaysSo() throws {
        let url = "https://hooks.example.com/twilio"
        let body = bytes(formEncode([("To", "+1"), ("From", "+2"), ("SmsStatus", "received"), ("SmsSid", "SM7")]))
        let data = url + "From+2SmsSidSM7SmsStatusreceivedTo+1"
        let code = HMACKeys<SHA256>.code(secret: bytes("auth-token")) { $0.update(utf8: data) }
        let request = WebhookRequest(
            headerFields: fields([("X-Twilio-Signature", Base64.encode(code)), ("X-Twilio-Webhooks-Signature-Settings", "key=hookline,algorithm=HMAC_SHA256")]),
            body: body,
            now: now
        )
        let verified = try verifier("twilio", self.configuration).verify(request)
        #expect(verified.event == "message.received")
        var sha1 = request
        sha1.headerFields[HTTPField.Name("X-Twilio-Webhooks-Signature-Settings")!] = nil
        let verifier = try verifier("twilio", self.configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(sha1) }

        // The algorithm decides, not a key name that happens to contain "sha256".
        #expect(try TwilioVerifier.usesSHA256("key=sha256-key,algorithm=HMAC_SHA1") == false)
        #expect(try TwilioVerifier.usesSHA256("algorithm=HMAC-SHA256") == true)
        #expect(try TwilioVerifier.usesSHA256("key=sha256-key") == false)
        #expect(try TwilioVerifier.usesSHA256(" key = k , algorithm = HMAC_SHA256 ") == true)
        #expect(try TwilioVerifier.usesSHA256("key=" + String(repeating: "k", count: 80) + ",algorithm=HMAC_SHA256") == true)
        #expect(try TwilioVerifier.usesSHA256(nil) == false)
        var unknown = request
        unknown.headerFields[HTTPField.Name("X-Twilio-Webhooks-Signature-Settings")!] = "key=k,algorithm=HMAC_MD5"
        expectRefusal(.malformedHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(unknown) }
    }

    // Without it every request would fail verification; with a query the gateway's URL would
    // carry the query twice.
    @Test("Twilio and Square need public_url, without a query, to start", arguments: ["twilio", "square"])
    func publicURLIsRequired(provider: String) throws {
        for (url, expected) in [
            (nil, "Needs public_url"), ("https://hooks.example.com/in?x=1", "without a query"), ("hooks.example.com/in", "http(s) URL"),
        ] {
            #expect {
                try verifier(provider, ProviderConfiguration(secrets: ["key"], publicURL: url))
            } throws: { error in
                (error as? WebhookConfigurationError)?.message.contains(expected) == true
            }
        }
        _ = try verifier(provider, ProviderConfiguration(secrets: ["key"], publicURL: "https://hooks.example.com/in"))
    }
}

@Suite("Shopify")
struct ShopifyTests {
    let configuration = ProviderConfiguration(secrets: ["shpss"])

    @Test func headersWithoutXPrefixAreAccepted() throws {
        let signed = try sign("shopify", WebhookSigningInput(secret: "shpss", body: bytes("{}"), event: "products.update", id: "ev", key: "s.myshopify.com", timestamp: now))
        var request = signed
        request.headerFields = HTTPFields(signed.headerFields.map { field in
            let name = field.name.rawName.hasPrefix("X-") ? String(field.name.rawName.dropFirst(2)) : field.name.rawName
            return HTTPField(name: HTTPField.Name(name)!, value: field.value)
        })
        #expect(request.headerFields[HTTPField.Name("X-Shopify-Topic")!] == nil)
        let verified = try verifier("shopify", self.configuration).verify(request)
        #expect(verified.event == "products.update")
        #expect(verified.id == "ev")
        #expect(verified.key == "s.myshopify.com")
        #expect(verified.headers.map(\.name) == ["shopify-event-id", "shopify-webhook-id"])
    }

    @Test func webhookIDWhenNoEventID() throws {
        var request = try sign("shopify", WebhookSigningInput(secret: "shpss", body: bytes("{}"), event: "orders.paid", timestamp: now))
        #expect(request.headerFields[HTTPField.Name("X-Shopify-Topic")!] == "orders/paid")
        request.headerFields[HTTPField.Name("X-Shopify-Event-Id")!] = nil
        let webhookID = request.headerFields[HTTPField.Name("X-Shopify-Webhook-Id")!]
        let verified = try verifier("shopify", self.configuration).verify(request)
        #expect(verified.id == webhookID)
        #expect(verified.headers == [.init(name: "shopify-webhook-id", value: webhookID!)])
    }

    @Test func bothSpellingsOfTheSignatureWithDifferentValuesAreABadRequest() throws {
        var request = try sign("shopify", WebhookSigningInput(secret: "shpss", body: bytes("{}"), event: "orders.paid", timestamp: now))
        request.headerFields.append(HTTPField(name: HTTPField.Name("Shopify-Hmac-Sha256")!, value: "AAAA"))
        let verifier = try verifier("shopify", self.configuration)
        expectRefusal(.duplicateSignatureHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }
}

@Suite("Stripe, Paddle, Linear, generic")
struct OtherProviderTests {
    @Test func stripeAcceptsAnyV1AndIgnoresV0() throws {
        let body = bytes(#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#)
        let good = try sign("stripe", WebhookSigningInput(secret: "whsec_b", body: body, timestamp: now))
        let header = good.headerFields[HTTPField.Name("Stripe-Signature")!]!
        let goodV1 = header.split(separator: ",")[1]
        var request = good
        request.headerFields[HTTPField.Name("Stripe-Signature")!] = "t=\(now),v1=\(String(repeating: "ab", count: 32)),\(goodV1),v0=00"
        #expect(try verifier("stripe", ProviderConfiguration(secrets: ["whsec_a", "whsec_b"])).verify(request).key == "ch_1")
    }

    @Test func stripeBodyWithoutIDIsMalformed() throws {
        let request = try sign("stripe", WebhookSigningInput(secret: "whsec_a", body: bytes(#"{"type":"charge.succeeded"}"#), timestamp: now))
        let verifier = try verifier("stripe", ProviderConfiguration(secrets: ["whsec_a"]))
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    // The event names the topic; a delivery without one goes to `<prefix>.<source>.unknown`.
    @Test(
        "a verified body without its event type is accepted as unknown",
        arguments: [
            ("stripe", "whsec_a", #"{"id":"evt_1"}"#),
            ("paddle", "pdl", #"{"event_id":"evt_1"}"#),
            ("intercom", "ic", #"{"id":"evt_1"}"#),
            ("slack", "slack-secret", #"{"type":"event_callback","event_id":"evt_1"}"#),
            ("slack", "slack-secret", #"{"event_id":"evt_1"}"#),
            ("linear", "lin", #"{"webhookTimestamp":\#(now * 1000)}"#),
        ]
    )
    func bodyWithoutEventIsUnknown(provider: String, secret: String, body: String) throws {
        let request = try sign(provider, WebhookSigningInput(secret: secret, body: bytes(body), id: "evt_1", timestamp: now))
        let verified = try verifier(provider, ProviderConfiguration(secrets: [secret])).verify(request)
        #expect(verified.event == "unknown")
        #expect(verified.id == "evt_1")
    }

    @Test func genericEventHeaderMustMatchTheBodysEvent() throws {
        let configuration = ProviderConfiguration(secrets: ["s"], eventTypeHeader: "X-Event-Type", eventTypeJSONPointer: "/event_type")
        var request = try sign("hmac-sha256", WebhookSigningInput(secret: "s", body: bytes(#"{"event_type":"new_order"}"#), event: "new_order", timestamp: now, configuration: configuration))
        let verifier = try verifier("hmac-sha256", configuration)
        #expect(try verifier.verify(request).event == "new_order")
        request.headerFields[HTTPField.Name("X-Event-Type")!] = nil
        #expect(try verifier.verify(request).event == "new_order")
        // Spelled differently, the same event (and topic): accepted, spelled as the topic spells it.
        request.headerFields[HTTPField.Name("X-Event-Type")!] = "New_Order"
        let respelled = try verifier.verify(request)
        #expect((respelled.event, respelled.ceType) == ("new_order", "hmac-sha256.new_order"))
        request.headerFields[HTTPField.Name("X-Event-Type")!] = "refund"
        expectRefusal(.eventMismatch, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test("ce_type spells the event as the topic name does")
    func ceTypeFollowsTheTopicsSpelling() throws {
        let configuration = ProviderConfiguration(secrets: ["s"], eventTypeHeader: "X-Event-Type")
        let request = try sign("hmac-sha256", WebhookSigningInput(secret: "s", body: bytes("{}"), event: "Order/Created Now", timestamp: now, configuration: configuration))
        let verified = try verifier("hmac-sha256", configuration).verify(request)
        #expect(verified.event == "order.created_now")
        #expect(verified.ceType == "hmac-sha256.order.created_now")
        #expect(WebhookTopic.name(prefix: "webhooks", source: "legacy", event: verified.event) == "webhooks.legacy.order.created_now")
    }

    @Test func paddleAcceptsSeveralH1() throws {
        let body = bytes(#"{"event_id":"evt_9","event_type":"transaction.completed","data":{"id":"txn_1"}}"#)
        let signed = try sign("paddle", WebhookSigningInput(secret: "pdl_new", body: body, timestamp: now))
        var request = signed
        let header = signed.headerFields[HTTPField.Name("Paddle-Signature")!]!
        request.headerFields[HTTPField.Name("Paddle-Signature")!] = header.replacingOccurrences(of: ";h1=", with: ";h1=\(String(repeating: "0", count: 64));h1=")
        let verified = try verifier("paddle", ProviderConfiguration(secrets: ["pdl_new"])).verify(request)
        #expect(verified.event == "transaction.completed")
        #expect(verified.id == "evt_9")
    }

    @Test func linearEventHeaderMustMatchBodyType() throws {
        let body = bytes(#"{"action":"update","type":"Comment","data":{"id":"c"},"webhookTimestamp":\#(now * 1000)}"#)
        var request = try sign("linear", WebhookSigningInput(secret: "lin", body: body, timestamp: now))
        #expect(request.headerFields[HTTPField.Name("Linear-Event")!] == "Comment")
        let verifier = try verifier("linear", ProviderConfiguration(secrets: ["lin"]))
        #expect(try verifier.verify(request).event == "comment.update")
        request.headerFields[HTTPField.Name("Linear-Event")!] = "Issue"
        expectRefusal(.eventMismatch, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func linearWithoutTimestampIsMalformed() throws {
        let request = try sign("linear", WebhookSigningInput(secret: "lin", body: bytes(#"{"type":"Issue"}"#), timestamp: now))
        let verifier = try verifier("linear", ProviderConfiguration(secrets: ["lin"]))
        expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test func genericEventFromJSONPointerAndRandomID() throws {
        let configuration = ProviderConfiguration(secrets: ["s"], eventTypeJSONPointer: "/meta/event~1type")
        let body = bytes(#"{"meta":{"event/type":"Order Created"}}"#)
        let request = try sign("hmac-sha256", WebhookSigningInput(secret: "s", body: body, timestamp: now, configuration: configuration))
        #expect(request.headerFields[HTTPField.Name("X-Signature")!]?.count == 64)
        let first = try verifier("hmac-sha256", configuration).verify(request)
        let second = try verifier("hmac-sha256", configuration).verify(request)
        #expect(first.event == "order_created")
        #expect(first.id.count == 36)
        #expect(first.id != second.id)
        #expect(WebhookTopic.name(prefix: "webhooks", source: "shop", event: first.event) == "webhooks.shop.order_created")
    }

    @Test func genericPrefixIsRequiredWhenConfigured() throws {
        let configuration = ProviderConfiguration(secrets: ["s"], signaturePrefix: "sha256=")
        var request = try sign("hmac-sha256", WebhookSigningInput(secret: "s", body: bytes("{}"), timestamp: now, configuration: configuration))
        let name = HTTPField.Name("X-Signature")!
        request.headerFields[name] = String(request.headerFields[name]!.dropFirst(7))
        let verifier = try verifier("hmac-sha256", configuration)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }
}

@Suite("Configuration errors")
struct ConfigurationErrorTests {
    // Each row with the part of the message that names its mistake, so that a refusal for some
    // other reason does not pass.
    @Test(arguments: [
        ("github", ProviderConfiguration(), "Needs at least one entry in secrets."),
        ("gitlab", ProviderConfiguration(), "Needs at least one entry in secrets or signing_tokens."),
        ("standard-webhooks", ProviderConfiguration(secrets: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]), "Every entry of secrets must be whsec_ followed by base64."),
        ("standard-webhooks", ProviderConfiguration(secrets: ["whsec_not base64!"]), "Every entry of secrets must be whsec_ followed by base64."),
        ("standard-webhooks", ProviderConfiguration(publicKeys: ["whpk_AAAA"]), "Every public key must be whpk_ followed by the base64 of a 32-byte Ed25519 key."),
        ("gitlab", ProviderConfiguration(signingTokens: ["plain-token"]), "Every entry of signing_tokens must be whsec_ followed by base64."),
        ("discord", ProviderConfiguration(publicKeys: ["abcd"]), "Every public key must be the 64 hex digits of a 32-byte Ed25519 key."),
        ("discord", ProviderConfiguration(publicKeys: [String(repeating: "zz", count: 32)]), "Every public key must be the 64 hex digits of a 32-byte Ed25519 key."),
        ("discord", ProviderConfiguration(secrets: ["s"]), "Needs at least one entry in public_keys"),
        ("hmac-sha256", ProviderConfiguration(secrets: ["s"], signatureHeader: "bad header"), "signature_header 'bad header' is not a valid header name."),
        ("hmac-sha256", ProviderConfiguration(secrets: ["s"], eventTypeJSONPointer: "event_type"), "event_type_json_pointer 'event_type' is not a JSON pointer"),
        ("no-such-provider", ProviderConfiguration(secrets: ["s"]), #"unknown provider "no-such-provider"; known providers: github, gitlab, stripe"#),
        // An empty key (a literal "", or "${X:-}" with X unset) would let anyone sign.
        ("github", ProviderConfiguration(secrets: ["current", ""]), "secrets[1] is empty, and anyone can sign with an empty key"),
        ("stripe", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("shopify", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("slack", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("twilio", ProviderConfiguration(secrets: [""], publicURL: "https://example.com/twilio"), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("hmac-sha256", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("square", ProviderConfiguration(secrets: [""], publicURL: "https://example.com/square"), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("paddle", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("linear", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("intercom", ProviderConfiguration(secrets: [""]), "secrets[0] is empty, and anyone can sign with an empty key"),
        ("gitlab", ProviderConfiguration(secrets: ["gl-current"], signingTokens: [""]), "signing_tokens[0] is empty, and anyone can sign with an empty key"),
    ])
    func invalidConfigurationIsRefusedAtStartUp(provider: String, configuration: ProviderConfiguration, mistake: String) {
        do {
            _ = try WebhookProviders.makeVerifier(provider: provider, configuration: configuration)
            Issue.record("\(provider) accepted an invalid configuration")
        } catch {
            #expect(error.provider == provider)
            #expect(error.message.contains(mistake), "\(error.message)")
            for secret in configuration.secrets where secret.count > 4 {
                #expect(!error.message.contains(secret))
            }
        }
    }
}
