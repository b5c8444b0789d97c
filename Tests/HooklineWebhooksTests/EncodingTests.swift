import Testing

@testable import HooklineWebhooks

@Suite("Encodings")
struct EncodingTests {
    @Test func hexRoundTripsAndRefusesGarbage() {
        let all = (0...255).map(UInt8.init)
        #expect(Hex.decode(Hex.encode(all)) == all)
        #expect(Hex.decode("DEADbeef") == [0xDE, 0xAD, 0xBE, 0xEF])
        for bad in ["", "a", "0g", "zz", " 00", "0x00"] { #expect(Hex.decode(bad) == nil, "\(bad)") }
    }

    @Test func base64RoundTripsAndRefusesGarbage() {
        var generator = SplitMix(seed: 3)
        for length in 0..<40 {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let text = Base64.encode(data)
            #expect(text.count % 4 == 0)
            if length > 0 {
                #expect(Base64.decode(text) == data)
                #expect(Base64.decode(text.replacingAll("=", "")) == data)
            }
        }
        #expect(Base64.encode(Array("Hello, World!".utf8)) == "SGVsbG8sIFdvcmxkIQ==")
        for bad in ["", "A", "AB=C", "A===", "AB-_", "AB C", "ABC=D===", "AAAAA"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test func formBodiesDecode() {
        let pairs = FormBody.parse(Array("a=1&b=x+y%2Bz&&c&d=%E2%82%AC&e=%zz%4".utf8))
        #expect(pairs.map(\.name) == ["a", "b", "c", "d", "e"])
        #expect(pairs.map(\.value) == ["1", "x y+z", "", "€", "%zz%4"])
        #expect(FormBody.looksLikeForm(Array("a=1".utf8)))
        #expect(!FormBody.looksLikeForm(Array(" {".utf8)))
    }

    @Test func timestamps() {
        #expect(Timestamp.parse("1700000000") == 1_700_000_000)
        for bad in ["", "-1", "+1", "1.5", " 1", "9999999999999999999"] { #expect(Timestamp.parse(bad) == nil, "\(bad)") }
    }

    @Test func deliveryIDsAreVersion4UUIDs() {
        let id = DeliveryID.random()
        #expect(id.count == 36)
        #expect(Array(id)[14] == "4")
        #expect("89ab".contains(Array(id)[19]))
        #expect(DeliveryID.random() != id)
    }

    @Test func jsonQuoting() {
        #expect(JSONText.quote("a\"b\\c\n\u{1}é") == #""a\"b\\c\n\u0001é""#)
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, _ replacement: String) -> String {
        String(self.flatMap { $0 == target ? Array(replacement) : [$0] })
    }
}
