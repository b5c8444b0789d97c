import Foundation
import Testing

@testable import HooklineGateway

@Suite("The gateway's JSON string literals")
struct JSONStringTests {
    @Test(
        "what appendJSONString writes decodes back to the same string",
        arguments: [
            "evt_1Q2w3E", "webhooks.github.push", "", "quote \" and backslash \\", "line\nbreak\r\ttab",
            "\u{1}\u{1f} control", "unicode: é ✓ 🚀", "\\\"",
        ]
    )
    func roundTrip(_ value: String) throws {
        var json = "["
        appendJSONString(value, to: &json)
        json += "]"
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
        #expect(decoded == [value])
    }

    @Test("a string that needs no escaping is copied as it is")
    func plain() {
        var json = ""
        appendJSONString("d1c2a3b4-0000-4000-8000-000000000001", to: &json)
        #expect(json == #""d1c2a3b4-0000-4000-8000-000000000001""#)
    }
}
