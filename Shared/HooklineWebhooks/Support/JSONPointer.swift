/// An RFC 6901 JSON pointer, parsed once (at configuration time): `""` is the whole document,
/// `/a/b/0` the member `b` of the member `a`, then its first element. `~1` stands for `/`, `~0`
/// for `~`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    struct Token: Sendable, Hashable {
        /// The unescaped member name, as UTF-8.
        let name: [UInt8]
        /// The array index the token spells, if it is a canonical decimal number.
        let index: Int?
    }

    let tokens: [Token]
    public let description: String

    /// Parses `pointer`; `nil` when it neither is empty nor starts with `/`, or has a `~` not
    /// followed by `0` or `1`.
    public init?(_ pointer: String) {
        if pointer.isEmpty {
            self.tokens = []
            self.description = pointer
            return
        }
        let utf8 = Array(pointer.utf8)
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        var tokens: [Token] = []
        var current: [UInt8] = []
        var index = 1
        while index <= utf8.count {
            if index == utf8.count || utf8[index] == UInt8(ascii: "/") {
                tokens.append(Token(name: current, index: Self.arrayIndex(current)))
                current = []
            } else if utf8[index] == UInt8(ascii: "~") {
                guard index + 1 < utf8.count else { return nil }
                switch utf8[index + 1] {
                case UInt8(ascii: "0"): current.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): current.append(UInt8(ascii: "/"))
                default: return nil
                }
                index += 1
            } else {
                current.append(utf8[index])
            }
            index += 1
        }
        self.tokens = tokens
        self.description = pointer
    }

    /// A pointer to nested members, for providers' fixed fields: `JSONPointer(members: "a", "b")`
    /// is `/a/b`.
    init(members: String...) {
        self.tokens = members.map { Token(name: Array($0.utf8), index: Self.arrayIndex(Array($0.utf8))) }
        self.description = members.map { "/" + $0 }.joined()
    }

    private static func arrayIndex(_ token: [UInt8]) -> Int? {
        guard !token.isEmpty, token.count <= 9 else { return nil }
        if token.count > 1, token[0] == UInt8(ascii: "0") { return nil }
        var value = 0
        for character in token {
            guard character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(character - UInt8(ascii: "0"))
        }
        return value
    }
}
