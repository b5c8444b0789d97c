/// A value found in a JSON document by ``JSONScanner``.
package enum JSONScalar: Sendable, Hashable {
    case string(String)
    /// A number, as its source text (validated against the JSON grammar).
    case number(String)
    case bool(Bool)
    case null
    case object
    case array

    /// The value as routing text: strings as they are, numbers as written, booleans as
    /// `true`/`false`; `nil` for null, objects and arrays.
    package var text: String? {
        switch self {
        case .string(let value), .number(let value): value
        case .bool(let value): value ? "true" : "false"
        case .null, .object, .array: nil
        }
    }

    /// The value when it is a string.
    package var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value when it is an integral number that fits in 64 bits.
    package var integer: Int64? {
        if case .number(let value) = self { return Int64(value) }
        return nil
    }
}

/// Finds single values in a JSON document by JSON pointer, without building the document.
///
/// It walks the bytes once, up to the value: members before it are skipped (validated by the JSON
/// grammar), members after it are not read. So a document broken *after* the value still yields it;
/// everything on the path to it must be well-formed. The first of duplicate member names wins.
/// Escapes (including `\u` surrogate pairs; a lone surrogate decodes as U+FFFD) are decoded in
/// member names and string values. Nesting deeper than ``maximumDepth`` is refused. Never traps on
/// any input.
package enum JSONScanner {
    static let maximumDepth = 128

    /// The value `pointer` designates in `document`, or `nil` when there is none or the path to it
    /// is malformed.
    package static func value(at pointer: JSONPointer, in document: [UInt8]) -> JSONScalar? {
        document.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(base: buffer)
            return cursor.find(pointer.tokens[...], depth: 0)
        }
    }

    /// Whether `document` is one whole JSON value and nothing else (whitespace aside), nested no
    /// deeper than ``maximumDepth``: what a provider whose routing facts are in the body requires
    /// before it reads them, since ``value(at:in:)`` stops at the value it looks for.
    package static func isWellFormed(_ document: [UInt8]) -> Bool {
        document.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(base: buffer)
            guard cursor.skipValue(depth: 0) else { return false }
            cursor.skipWhitespace()
            return cursor.index == buffer.count
        }
    }

    /// Whether `document` is one whole JSON object (``isWellFormed(_:)``, and an object).
    package static func isObject(_ document: [UInt8]) -> Bool {
        self.looksLikeObject(document) && self.isWellFormed(document)
    }

    /// Whether `document` starts (after whitespace) with `{`.
    static func looksLikeObject(_ document: [UInt8]) -> Bool {
        for byte in document {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "{"): return true
            default: return false
            }
        }
        return false
    }
}

private struct Cursor {
    let base: UnsafeBufferPointer<UInt8>
    var index = 0

    init(base: UnsafeBufferPointer<UInt8>) {
        self.base = base
    }

    /// The byte at `position`, or 0 past the end (0 is never valid where the scanner looks).
    @inline(__always)
    func byte(_ position: Int) -> UInt8 {
        position < self.base.count ? self.base[position] : 0
    }

    @inline(__always)
    var current: UInt8 { self.byte(self.index) }

    @inline(__always)
    mutating func skipWhitespace() {
        while true {
            switch self.current {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }

    mutating func find(_ tokens: ArraySlice<JSONPointer.Token>, depth: Int) -> JSONScalar? {
        self.skipWhitespace()
        guard let token = tokens.first else { return self.readValue(depth: depth) }
        guard depth < JSONScanner.maximumDepth else { return nil }
        switch self.current {
        case UInt8(ascii: "{"):
            self.index += 1
            self.skipWhitespace()
            if self.current == UInt8(ascii: "}") { return nil }
            while true {
                guard self.current == UInt8(ascii: "\""), let key = self.scanString() else { return nil }
                self.skipWhitespace()
                guard self.current == UInt8(ascii: ":") else { return nil }
                self.index += 1
                if self.equals(key, token.name) {
                    return self.find(tokens.dropFirst(), depth: depth + 1)
                }
                guard self.skipValue(depth: depth + 1) else { return nil }
                self.skipWhitespace()
                guard self.current == UInt8(ascii: ",") else { return nil }
                self.index += 1
                self.skipWhitespace()
            }
        case UInt8(ascii: "["):
            guard let target = token.index else { return nil }
            self.index += 1
            self.skipWhitespace()
            if self.current == UInt8(ascii: "]") { return nil }
            var position = 0
            while true {
                if position == target {
                    return self.find(tokens.dropFirst(), depth: depth + 1)
                }
                guard self.skipValue(depth: depth + 1) else { return nil }
                self.skipWhitespace()
                guard self.current == UInt8(ascii: ",") else { return nil }
                self.index += 1
                position += 1
            }
        default:
            return nil
        }
    }

    mutating func readValue(depth: Int) -> JSONScalar? {
        self.skipWhitespace()
        switch self.current {
        case UInt8(ascii: "\""):
            guard let range = self.scanString() else { return nil }
            return .string(self.decode(range))
        case UInt8(ascii: "{"):
            return self.skipValue(depth: depth) ? .object : nil
        case UInt8(ascii: "["):
            return self.skipValue(depth: depth) ? .array : nil
        case UInt8(ascii: "t"):
            return self.literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return self.literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return self.literal("null") ? .null : nil
        default:
            let start = self.index
            guard self.scanNumber() else { return nil }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: self.base[start..<self.index]), as: UTF8.self))
        }
    }

    /// Skips one value; `false` when it is malformed or nested too deeply.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth <= JSONScanner.maximumDepth else { return false }
        self.skipWhitespace()
        switch self.current {
        case UInt8(ascii: "\""):
            return self.scanString() != nil
        case UInt8(ascii: "{"):
            self.index += 1
            self.skipWhitespace()
            if self.current == UInt8(ascii: "}") {
                self.index += 1
                return true
            }
            while true {
                guard self.current == UInt8(ascii: "\""), self.scanString() != nil else { return false }
                self.skipWhitespace()
                guard self.current == UInt8(ascii: ":") else { return false }
                self.index += 1
                guard self.skipValue(depth: depth + 1) else { return false }
                self.skipWhitespace()
                switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhitespace()
                case UInt8(ascii: "}"):
                    self.index += 1
                    return true
                default:
                    return false
                }
            }
        case UInt8(ascii: "["):
            self.index += 1
            self.skipWhitespace()
            if self.current == UInt8(ascii: "]") {
                self.index += 1
                return true
            }
            while true {
                guard self.skipValue(depth: depth + 1) else { return false }
                self.skipWhitespace()
                switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                case UInt8(ascii: "]"):
                    self.index += 1
                    return true
                default:
                    return false
                }
            }
        case UInt8(ascii: "t"):
            return self.literal("true")
        case UInt8(ascii: "f"):
            return self.literal("false")
        case UInt8(ascii: "n"):
            return self.literal("null")
        default:
            return self.scanNumber()
        }
    }

    struct StringRange {
        let start: Int
        let end: Int
        let escaped: Bool
    }

    /// Scans the string at the opening quote; leaves the cursor after the closing quote.
    mutating func scanString() -> StringRange? {
        self.index += 1
        let start = self.index
        var escaped = false
        while true {
            let character = self.current
            if character == UInt8(ascii: "\"") {
                let range = StringRange(start: start, end: self.index, escaped: escaped)
                self.index += 1
                return range
            } else if character == UInt8(ascii: "\\") {
                escaped = true
                switch self.byte(self.index + 1) {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    self.index += 2
                case UInt8(ascii: "u"):
                    for offset in 2...5 where Hex.value(self.byte(self.index + offset)) == nil {
                        return nil
                    }
                    self.index += 6
                default:
                    return nil
                }
            } else if character < 0x20 {
                // A control character, or the end of the input.
                return nil
            } else {
                self.index += 1
            }
        }
    }

    mutating func scanNumber() -> Bool {
        if self.current == UInt8(ascii: "-") { self.index += 1 }
        if self.current == UInt8(ascii: "0") {
            self.index += 1
        } else if self.isDigit(self.current) {
            while self.isDigit(self.current) { self.index += 1 }
        } else {
            return false
        }
        if self.current == UInt8(ascii: ".") {
            self.index += 1
            guard self.isDigit(self.current) else { return false }
            while self.isDigit(self.current) { self.index += 1 }
        }
        if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
            self.index += 1
            if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.index += 1 }
            guard self.isDigit(self.current) else { return false }
            while self.isDigit(self.current) { self.index += 1 }
        }
        return true
    }

    @inline(__always)
    func isDigit(_ character: UInt8) -> Bool {
        character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9")
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        let pointer = word.utf8Start
        for offset in 0..<count where self.byte(self.index + offset) != pointer[offset] {
            return false
        }
        self.index += count
        return true
    }

    func equals(_ key: StringRange, _ name: [UInt8]) -> Bool {
        if !key.escaped {
            guard key.end - key.start == name.count else { return false }
            var offset = 0
            while offset < name.count {
                if self.base[key.start + offset] != name[offset] { return false }
                offset += 1
            }
            return true
        }
        return self.unescape(key) == name
    }

    func decode(_ range: StringRange) -> String {
        if !range.escaped {
            return String(decoding: UnsafeBufferPointer(rebasing: self.base[range.start..<range.end]), as: UTF8.self)
        }
        return String(decoding: self.unescape(range), as: UTF8.self)
    }

    /// The UTF-8 bytes of a string that ``scanString()`` validated.
    func unescape(_ range: StringRange) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(range.end - range.start)
        var position = range.start
        while position < range.end {
            let character = self.base[position]
            guard character == UInt8(ascii: "\\") else {
                out.append(character)
                position += 1
                continue
            }
            let escape = self.base[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = self.hex4(at: position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    if position + 6 <= range.end, self.base[position] == UInt8(ascii: "\\"),
                        self.base[position + 1] == UInt8(ascii: "u")
                    {
                        let low = self.hex4(at: position + 2)
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            position += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                Self.appendUTF8(scalar, to: &out)
            default:
                // `"`, `\` and `/` stand for themselves.
                out.append(escape)
            }
        }
        return out
    }

    func hex4(at position: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            value = value << 4 | UInt32(Hex.value(self.base[position + offset]) ?? 0)
        }
        return value
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

/// JSON string literals, for replies and log lines: the one escaper of the package.
package enum JSONText {
    /// `value` as a JSON string literal, quotes included.
    package static func quote(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        self.appendQuoted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value` as a JSON string literal, quotes included: quotes, backslashes and control
    /// characters escaped.
    package static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let digits = Array("0123456789abcdef".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether `value` has a byte a JSON string literal must escape. Ids and topic names have
    /// none, so a hot path can append them whole instead of byte by byte.
    package static func needsEscaping(_ value: String) -> Bool {
        func needsEscaping(_ byte: UInt8) -> Bool { byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") }
        // A native string's bytes in one buffer: a plain loop, where iterating `utf8` costs ~40 instructions a byte.
        return value.utf8.withContiguousStorageIfAvailable { $0.contains(where: needsEscaping) } ?? value.utf8.contains(where: needsEscaping)
    }
}
