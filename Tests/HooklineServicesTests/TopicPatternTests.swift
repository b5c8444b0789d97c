import Foundation
import HooklineConfig
import HooklineConsumerKit
import HooklineServices
import HooklineWebhooks
import Testing

@Suite("Consumer services' topic patterns")
struct TopicPatternTests {
    @Test("each service's subscription matches its topics under a prefix and without one (topic names leave an empty prefix out, with its dot)", arguments: ["webhooks", "a.b-c", ""])
    func patternsMatchTheTopicsTheGatewayNames(prefix: String) throws {
        let cases: [(service: String, source: String, event: String)] = [
            ("orders", "shop", "orders/create"), ("orders", "legacy", "new_order"), ("payments", "stripe", "payment_intent.succeeded"),
            ("ci", "github", "push"), ("ci", "gitlab", "push"),
        ]
        for (service, source, event) in cases {
            let definition = try #require(ConsumerServiceApplication.catalog[service])
            let patterns = definition.make(ServiceSection(), prefix).subscription
            let topic = WebhookTopic.name(prefix: prefix, source: source, event: event)
            let matched = try patterns.contains { pattern in
                try NSRegularExpression(pattern: pattern).firstMatch(in: topic, range: NSRange(topic.startIndex..., in: topic)) != nil
            }
            #expect(matched, "\(service) does not follow \(topic): \(patterns)")
            // Nor another prefix's topics.
            let other = WebhookTopic.name(prefix: prefix + "x", source: source, event: event)
            let strayed = try patterns.contains { pattern in
                try NSRegularExpression(pattern: pattern).firstMatch(in: other, range: NSRange(other.startIndex..., in: other)) != nil
            }
            #expect(!strayed || prefix.isEmpty, "\(service) follows \(other) too: \(patterns)")
        }
    }
}
