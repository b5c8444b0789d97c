import Foundation
import Yams

/// `${NAME}` and `${NAME:-default}` in configured values.
///
/// They are expanded in each parsed value, never in the file's text: a variable's value is
/// never read as YAML or expanded again, so a quote, a colon or a `${` in it stays what it is.
enum ConfigurationVariables {
    /// `text` with every `${NAME}` replaced by the variable, which must be set and not empty, and
    /// every `${NAME:-default}` by the variable when set and not empty, else by `default`; `$${`
    /// is a literal `${`. One pass: what a variable brings is not looked at again. Errors name
    /// `field` and the variable, never a value.
    static func expand(_ text: String, environment: [String: String], for field: String) throws(ConfigurationError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "${") {
            if open.lowerBound > rest.startIndex, rest[rest.index(before: open.lowerBound)] == "$" {
                // `$${`: the first `$` escapes the rest.
                result += rest[..<rest.index(before: open.lowerBound)]
                result += "${"
                rest = rest[open.upperBound...]
                continue
            }
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw ConfigurationError("\(field): a ${ without its closing } (write ${NAME} for the variable NAME)")
            }
            let inside = rest[open.upperBound..<close]
            result += rest[..<open.lowerBound]
            if let separator = inside.range(of: ":-") {
                let name = String(inside[..<separator.lowerBound])
                if let value = environment[name], !value.isEmpty { result += value } else { result += inside[separator.upperBound...] }
            } else {
                let name = String(inside)
                guard let value = environment[name] else {
                    throw ConfigurationError("\(field): the environment variable \(name) is not set")
                }
                guard !value.isEmpty else { throw ConfigurationError("\(field): the environment variable \(name) is empty") }
                result += value
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// `node` with the variables in its values expanded, except in the fields ``SecretResolver``
    /// resolves (they may be `file:PATH`, and a source's keys are read only by the processes that
    /// use them). Keys are left as written.
    static func expanding(_ node: Node, environment: [String: String], at path: [String] = []) throws(ConfigurationError) -> Node {
        if self.isResolvedBySecretResolver(path) { return node }
        switch node {
        case .scalar(let scalar):
            let field = path.joined(separator: ".")
            let expanded = try self.expand(scalar.string, environment: environment, for: field)
            guard expanded != scalar.string else { return node }
            // The value is read as its field's type, quoted or not (`"${PARTITIONS:-6}"` is a
            // number; a flow mapping needs the quotes around `{}`). Only an unquoted one that
            // comes out empty (or `null`, `~`) is as if the key were left out.
            var plain = Node.Scalar(expanded, .implicit, .plain, scalar.mark)
            if scalar.style != .plain, Node.scalar(plain).null != nil { plain.style = scalar.style }
            return .scalar(plain)
        case .mapping(var mapping):
            for index in mapping.indices {
                let (key, value) = mapping[index]
                // A merge key (`<<: {…}`) puts its mapping's keys where it stands.
                let at = key.string == "<<" ? path : path + [key.string ?? "?"]
                mapping[index] = (key, try self.expanding(value, environment: environment, at: at))
            }
            return .mapping(mapping)
        case .sequence(var sequence):
            for index in sequence.indices {
                let field = path.isEmpty ? "[\(index)]" : path[path.count - 1] + "[\(index)]"
                sequence[index] = try self.expanding(sequence[index], environment: environment, at: path.dropLast() + [field])
            }
            return .sequence(sequence)
        default:
            return node
        }
    }

    /// `kafka.brokers`, `kafka.properties.*` and a source's `secrets`, `public_keys` and `signing_tokens`.
    static func isResolvedBySecretResolver(_ path: [String]) -> Bool {
        switch path.first {
        case "kafka": return path.count >= 2 && (path[1] == "brokers" || path[1] == "properties")
        case "sources": return path.count >= 3 && ["secrets", "public_keys", "signing_tokens"].contains(path[2])
        default: return false
        }
    }
}
