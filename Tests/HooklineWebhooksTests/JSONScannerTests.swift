import Foundation
import Testing

@testable import HooklineWebhooks

private func value(_ pointer: String, _ json: String) -> JSONScalar? {
    JSONScanner.value(at: JSONPointer(pointer)!, in: Array(json.utf8))
}

@Suite("JSON scanner")
struct JSONScannerTests {
    @Test func findsNestedMembersAndArrayElements() {
        let json = #" { "a" : { "b" : [ 10 , { "c" : "deep" } , true ] } , "z" : null } "#
        #expect(value("/a/b/0", json) == .number("10"))
        #expect(value("/a/b/1/c", json) == .string("deep"))
        #expect(value("/a/b/2", json) == .bool(true))
        #expect(value("/a/b/3", json) == nil)
        #expect(value("/a/b", json) == .array)
        #expect(value("/a", json) == .object)
        #expect(value("/z", json) == .null)
        #expect(value("", json) == .object)
        #expect(value("/missing", json) == nil)
        #expect(value("/a/b/c", json) == nil)
    }

    @Test func decodesEscapesInValuesAndMemberNames() {
        let json = #"{"k\"ey":"v\\al\/ue\n\t\b\f\r","\u0074ype":"\u00e9\u4e2d\ud83d\ude00","x":"\ud800 lone"}"#
        #expect(value(#"/k"ey"#, json) == .string("v\\al/ue\n\t\u{8}\u{c}\r"))
        #expect(value("/type", json) == .string("é中😀"))
        #expect(value("/x", json) == .string("\u{FFFD} lone"))
    }

    @Test func pointerEscapes() {
        let json = #"{"a/b":1,"m~n":2,"":3}"#
        #expect(value("/a~1b", json) == .number("1"))
        #expect(value("/m~0n", json) == .number("2"))
        #expect(value("/", json) == .number("3"))
        #expect(JSONPointer("a") == nil)
        #expect(JSONPointer("/a~2") == nil)
        #expect(JSONPointer("/a~") == nil)
    }

    @Test func firstDuplicateWinsAndValuesAfterTheTargetAreNotRead() {
        #expect(value("/a", #"{"a":1,"a":2}"#) == .number("1"))
        #expect(value("/a", #"{"a":"x", this is not json"#) == .string("x"))
        #expect(value("/b", #"{"a":[1,2,}],"b":1}"#) == nil)
    }

    @Test func wellFormedIsOneWholeValue() {
        for good in [#"{"a":1}"#, " {\"a\":[1,{\"b\":null}]} \r\n", "[]", "1", #""s""#, "true"] {
            #expect(JSONScanner.isWellFormed(bytes(good)), "\(good)")
        }
        for bad in [#"{"a":1"#, #"{"a":1}}"#, #"{"a":1} x"#, #"{"a":1}{}"#, #"{"a":1,}"#, "", " ", "{\"a\":1}\u{0}", "1 2", #"{"a":01}"#] {
            #expect(!JSONScanner.isWellFormed(bytes(bad)), "\(bad)")
        }
        #expect(JSONScanner.isObject(bytes(#" {"a":1}"#)))
        #expect(!JSONScanner.isObject(bytes("[1]")))
        let deep = String(repeating: "[", count: 1_000) + String(repeating: "]", count: 1_000)
        #expect(!JSONScanner.isWellFormed(bytes(deep)))
    }

    @Test func numbersFollowTheGrammar() {
        #expect(value("/n", #"{"n":-0.5e+10}"#) == .number("-0.5e+10"))
        #expect(value("/n", #"{"n":1234567890123}"#)?.integer == 1_234_567_890_123)
        #expect(value("/n", #"{"n":01}"#) == .number("0"))
        for bad in ["-", "1.", ".5", "1e", "+1", "0x1"] {
            #expect(value("/b", #"{"n":"# + bad + #","b":1}"#) == nil, "\(bad)")
        }
    }

    @Test func refusesMalformedPaths() {
        for bad in [#"{"a""#, #"{"a":"#, #"{"a":"unterminated"#, #"{"a":tru}"#, #"{a:1}"#, "", "[", #"{"a":"\x"}"#,
                    #"{"a":"\u12"}"#, "{\"a\":\"ctl\u{1}\"}", #"{"x":1 "a":2}"#]
        {
            #expect(value("/a", bad) == nil, "\(bad)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(value("/0", deep) == nil)
        let skipped = #"{"x":"# + deep + #","a":1}"#
        #expect(value("/a", skipped) == nil)
        let fine = #"{"x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + #","a":1}"#
        #expect(value("/a", fine) == .number("1"))
    }

    @Test func randomBytesNeverCrash() {
        var generator = SplitMix(seed: 42)
        let pointers = ["", "/a", "/0", "/a/b/0", "/type"].map { JSONPointer($0)! }
        let alphabet = Array(#"{}[]:,"\ au0123456789.eE+-truefalsn/"#.utf8) + [0, 0x1F, 0xC3, 0xFF]
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 40)
            let document = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            for pointer in pointers { _ = JSONScanner.value(at: pointer, in: document) }
        }
    }

    /// Random documents with random whitespace and escapes: every leaf the generator placed is found
    /// with its value, and Foundation parses the same text to the same value.
    @Test func generatedDocumentsAgreeWithTheirModel() throws {
        var generator = SplitMix(seed: 7)
        for _ in 0..<1_500 {
            var leaves: [(pointer: String, value: JSONScalar)] = []
            let text = Generated.value(depth: 0, path: "", generator: &generator, leaves: &leaves)
            let document = Array(text.utf8)
            #expect((try? JSONSerialization.jsonObject(with: Data(document), options: [.fragmentsAllowed])) != nil, "\(text)")
            for leaf in leaves {
                #expect(JSONScanner.value(at: JSONPointer(leaf.pointer)!, in: document) == leaf.value, "\(leaf.pointer) in \(text)")
            }
            #expect(JSONScanner.isWellFormed(document), "\(text)")
            // An object or array cut anywhere is not whole.
            if let first = text.trimmingCharacters(in: .whitespacesAndNewlines).utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                let end = document.lastIndex { $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]") }!
                let cut = Int(generator.next() % UInt64(end))
                #expect(!JSONScanner.isWellFormed(Array(document.prefix(cut))), "\(text) cut at \(cut)")
            }
            // Mutations of a valid document never crash.
            for _ in 0..<5 where !document.isEmpty {
                var mutated = document
                mutated[Int(generator.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: generator.next())
                if let leaf = leaves.first { _ = JSONScanner.value(at: JSONPointer(leaf.pointer)!, in: mutated) }
                _ = JSONScanner.value(at: JSONPointer(members: "a"), in: Array(mutated.prefix(Int(generator.next() % UInt64(mutated.count)))))
            }
        }
    }
}

/// Deterministic pseudo-random numbers for reproducible fuzzing.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random JSON generator that records where it put each scalar.
enum Generated {
    static let names = ["a", "type", "é", "a/b", "m~n", "", "quo\"te", "😀", "b"]
    static let strings = ["", "plain", "with \"quotes\"", "back\\slash", "tab\tnew\nline", "é中😀", "\u{1}ctl", "/slash"]

    static func whitespace(_ g: inout SplitMix) -> String {
        ["", " ", "\n", "\t ", "\r\n  "][Int(g.next() % 5)]
    }

    static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// A string literal, escaping some characters that need no escape, at random.
    static func literal(_ text: String, _ g: inout SplitMix) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "/": out += g.next() % 2 == 0 ? "\\/" : "/"
            case _ where scalar.value < 0x20: out += "\\u" + String(format: "%04x", scalar.value)
            case _ where g.next() % 3 == 0:
                for unit in String(scalar).utf16 { out += "\\u" + String(format: "%04X", unit) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func value(depth: Int, path: String, generator g: inout SplitMix, leaves: inout [(pointer: String, value: JSONScalar)]) -> String {
        let kind = depth > 4 ? 2 + Int(g.next() % 4) : Int(g.next() % 6)
        let w = { (g: inout SplitMix) in whitespace(&g) }
        switch kind {
        case 0:
            var seen = Set<String>()
            var members: [String] = []
            for _ in 0..<Int(g.next() % 4) {
                let name = names[Int(g.next() % UInt64(names.count))]
                guard seen.insert(name).inserted else { continue }
                let child = value(depth: depth + 1, path: path + "/" + escapePointer(name), generator: &g, leaves: &leaves)
                members.append(w(&g) + literal(name, &g) + w(&g) + ":" + child)
            }
            leaves.append((path, .object))
            return w(&g) + "{" + members.joined(separator: ",") + w(&g) + "}" + w(&g)
        case 1:
            var elements: [String] = []
            for index in 0..<Int(g.next() % 4) {
                elements.append(value(depth: depth + 1, path: path + "/" + String(index), generator: &g, leaves: &leaves))
            }
            leaves.append((path, .array))
            return w(&g) + "[" + elements.joined(separator: ",") + w(&g) + "]" + w(&g)
        case 2:
            let text = strings[Int(g.next() % UInt64(strings.count))]
            leaves.append((path, .string(text)))
            return w(&g) + literal(text, &g) + w(&g)
        case 3:
            let number = ["0", "-1", "42", "3.25", "-0.5e+10", "1E3", "123456789012"][Int(g.next() % 7)]
            leaves.append((path, .number(number)))
            return w(&g) + number + w(&g)
        case 4:
            let flag = g.next() % 2 == 0
            leaves.append((path, .bool(flag)))
            return w(&g) + (flag ? "true" : "false") + w(&g)
        default:
            leaves.append((path, .null))
            return w(&g) + "null" + w(&g)
        }
    }
}
