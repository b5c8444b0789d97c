import HooklineConsumerKit
import HooklineWebhooks
import Testing

@Suite("ConsumerEvent fields by JSON pointer")
struct ConsumerEventFieldTests {
    let event = ConsumerEvent(
        id: "evt_1", type: "shopify.orders.create",
        body: Array(#"{"id":820982911946154508,"total_price":"49.90","cancelled_at":null,"customer":{"email":"a\u0040b.example"},"line_items":[{"sku":"X"}]}"#.utf8),
        topic: "webhooks.shop.orders.create", partition: 0, offset: 0
    )

    @Test("strings as they are (escapes decoded), numbers as written, integers; null, objects, arrays and absent fields are nil")
    func readsFields() throws {
        #expect(self.event.text(at: JSONPointer("/total_price")!) == "49.90")
        #expect(self.event.text(at: JSONPointer("/id")!) == "820982911946154508")
        #expect(self.event.integer(at: JSONPointer("/id")!) == 820_982_911_946_154_508)
        #expect(self.event.integer(at: JSONPointer("/total_price")!) == nil)
        #expect(self.event.text(at: JSONPointer("/customer/email")!) == "a@b.example")
        #expect(self.event.text(at: JSONPointer("/line_items/0/sku")!) == "X")
        #expect(self.event.text(at: JSONPointer("/cancelled_at")!) == nil)
        #expect(self.event.text(at: JSONPointer("/customer")!) == nil)
        #expect(self.event.text(at: JSONPointer("/missing")!) == nil)
        #expect(try self.event.requiredText(at: JSONPointer("/id")!) == "820982911946154508")
    }

    @Test("a required field that is missing is a permanent error: a retry will not bring it")
    func requiredFieldMissing() {
        #expect {
            try self.event.requiredText(at: JSONPointer("/order_id")!)
        } throws: { error in
            guard let error = error as? ConsumerError else { return false }
            return error.code == .permanent && error.message.contains("/order_id")
        }
    }

    @Test("a required field of a body that is not JSON is a permanent error that says so, not that the field is missing")
    func requiredFieldOfABodyThatIsNotJSON() {
        for body in ["not json", #"{"id":"1""#] {
            let event = ConsumerEvent(id: "e", type: "shopify.orders.create", body: Array(body.utf8), topic: "t", partition: 0, offset: 0)
            #expect {
                try event.requiredText(at: JSONPointer("/order_id")!)
            } throws: { error in
                guard let error = error as? ConsumerError else { return false }
                return error.code == .permanent && error.message == "the shopify.orders.create payload is not valid JSON"
            }
        }
    }
}

@Suite("ConsumerError quoting a sender's value")
struct ConsumerErrorQuotingTests {
    @Test("a value is quoted whole when short; cut at 40 characters with … when longer; control characters and quotes shown as ?")
    func quoting() {
        #expect(ConsumerError.quoting("pi_1") == #""pi_1""#)
        let long = String(repeating: "9", count: 10_000)
        #expect(ConsumerError.quoting(long) == "\"" + String(repeating: "9", count: 40) + "…\"")
        #expect(ConsumerError.quoting("a\"b\nc\u{1B}[31md") == #""a?b?c?[31md""#)
        #expect(ConsumerError.quoting("é中😀") == "\"é中😀\"")
    }
}
