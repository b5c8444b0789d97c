import Testing

@testable import HooklineWebhooks

@Suite("Topic names")
struct WebhookTopicTests {
    @Test(arguments: [
        ("push", "hookline.github.push"),
        ("orders/create", "hookline.github.orders.create"),
        ("Merge Request", "hookline.github.merge_request"),
        ("PAYMENT_INTENT.Succeeded", "hookline.github.payment_intent.succeeded"),
        ("a:b*c", "hookline.github.a_b_c"),
        ("é😀x", "hookline.github.__x"),
        ("", "hookline.github.unknown"),
    ])
    func eventIsMappedToKafkasCharacters(event: String, topic: String) {
        #expect(WebhookTopic.name(prefix: "hookline", source: "github", event: event) == topic)
        #expect(WebhookTopic.isLegal(topic))
    }

    @Test func missingEventAndEmptyPrefix() {
        #expect(WebhookTopic.name(prefix: "p", source: "s", event: nil) == "p.s.unknown")
        #expect(WebhookTopic.name(prefix: "", source: "standard-webhooks", event: "x") == "standard-webhooks.x")
        #expect(WebhookTopic.name(prefix: "My Prefix", source: "Src", event: "E") == "My_Prefix.Src.e")
    }

    @Test("a consumer service's dead letters: <prefix>.dlq.<service>, an empty prefix left out as in webhook topics")
    func deadLetterTopics() {
        #expect(WebhookTopic.deadLetters(prefix: "webhooks", service: "orders") == "webhooks.dlq.orders")
        #expect(WebhookTopic.deadLetters(prefix: "", service: "orders") == "dlq.orders")
        #expect(WebhookTopic.deadLetters(prefix: "", service: "orders") == WebhookTopic.name(prefix: "", source: WebhookTopic.deadLetterSource, event: "orders"))
    }

    @Test func longNamesAreCutTo249WithAStableHash() {
        let long = String(repeating: "a", count: 300)
        let topic = WebhookTopic.name(prefix: "hookline", source: "github", event: long)
        #expect(topic.count == 249)
        #expect(WebhookTopic.isLegal(topic))
        #expect(topic.hasPrefix("hookline.github.aaaa"))
        let suffix = topic.suffix(9)
        #expect(suffix.first == "-")
        #expect(suffix.dropFirst().allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(WebhookTopic.name(prefix: "hookline", source: "github", event: long) == topic)
        let other = WebhookTopic.name(prefix: "hookline", source: "github", event: long + "b")
        #expect(other.count == 249)
        #expect(other != topic)
        #expect(other.dropLast(9) == topic.dropLast(9))

        let exact = String(repeating: "b", count: 249 - "hookline.github.".count)
        #expect(WebhookTopic.name(prefix: "hookline", source: "github", event: exact) == "hookline.github." + exact)
        #expect(WebhookTopic.name(prefix: "hookline", source: "github", event: exact + "c").count == 249)
    }

    @Test func legality() {
        #expect(WebhookTopic.isLegal("a.b_c-D9"))
        #expect(!WebhookTopic.isLegal(""))
        #expect(!WebhookTopic.isLegal("."))
        #expect(!WebhookTopic.isLegal(".."))
        #expect(WebhookTopic.isLegal("..."))
        #expect(!WebhookTopic.isLegal("a b"))
        #expect(!WebhookTopic.isLegal("a/b"))
        #expect(!WebhookTopic.isLegal("é"))
        #expect(WebhookTopic.isLegal(String(repeating: "x", count: 249)))
        #expect(!WebhookTopic.isLegal(String(repeating: "x", count: 250)))
    }
}
