import Foundation
import HTTPTypes
import HooklineWebhooks
import NIOCore
import Testing

@testable import HooklineGateway
@testable import HooklineKafka

@Suite("The gateway's JSON string literals")
struct JSONStringTests {
    @Test(
        "a string quoted by JSONText, and a JSON error's message, decode back to the same string",
        arguments: [
            "evt_1Q2w3E", "webhooks.github.push", "", "quote \" and backslash \\", "line\nbreak\r\ttab",
            "\u{1}\u{1f} control", "unicode: é ✓ 🚀", "\\\"",
        ]
    )
    func roundTrip(_ value: String) throws {
        let json = "[" + JSONText.quote(value) + "]"
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
        #expect(decoded == [value])
        let error = GatewayReply.jsonError(.badRequest, code: "malformed", message: value)
        let object = try JSONSerialization.jsonObject(with: Data(error.body.readableBytesView)) as? [String: String]
        #expect(object == ["error": "malformed", "message": value])
    }

    @Test(
        "a 202's body decodes to the id, topic, partition and offset it was given",
        arguments: ["d1c2a3b4-0000-4000-8000-000000000001", "quote \" and backslash \\", "\u{1} control", ""]
    )
    func acceptedBody(_ id: String) throws {
        let report = KafkaDeliveryReport(topic: "webhooks.github.push", partition: 5, offset: 1_234_567_890_123)
        let reply = GatewayReply.accepted(id: id, report: report)
        #expect(reply.status == .accepted)
        #expect(reply.headerFields[.contentType] == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView)) as? [String: Any])
        #expect(object["id"] as? String == id)
        #expect(object["topic"] as? String == "webhooks.github.push")
        #expect((object["partition"] as? NSNumber)?.int32Value == 5)
        #expect((object["offset"] as? NSNumber)?.int64Value == 1_234_567_890_123)
        #expect(object.count == 4)
    }

    @Test("only quotes, backslashes and control characters need escaping (the rest is written whole)")
    func needsEscaping() {
        #expect(!JSONText.needsEscaping("d1c2a3b4-0000-4000-8000-000000000001"))
        #expect(!JSONText.needsEscaping("unicode: é ✓ 🚀"))
        for value in ["quote \"", "backslash \\", "line\nbreak", "\u{1f}"] {
            #expect(JSONText.needsEscaping(value), "\(value)")
        }
    }
}
