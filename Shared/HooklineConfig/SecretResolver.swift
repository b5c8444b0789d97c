import Foundation

/// Turns configured secret references into secret values, once, at start-up.
///
/// - `file:PATH`: the contents of the file at `PATH`, trailing newlines removed (as Docker and
///   Kubernetes secrets mount them).
/// - anything else: the value itself, with every `${NAME}` in it replaced by the environment
///   variable `NAME` (`${TOKEN}`, or `Bearer ${TOKEN}`).
///
/// A missing variable or unreadable file is an error naming the reference, never the value.
public struct SecretResolver: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func resolve(_ reference: String, for field: String) throws(ConfigurationError) -> String {
        if reference.hasPrefix("file:") {
            let path = String(reference.dropFirst("file:".count))
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError("\(field): cannot read the secret file \(path)")
            }
            // Trimmed as bytes: in a String, "\r\n" is one Character that neither "\n" nor "\r" ends.
            var bytes = data[...]
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            let value = String(decoding: bytes, as: UTF8.self)
            guard !value.isEmpty else { throw ConfigurationError("\(field): the secret file \(path) is empty") }
            return value
        }
        return try self.substitutingVariables(in: reference, for: field)
    }

    /// `text` with every `${NAME}` replaced by the variable, which must be set and not empty.
    private func substitutingVariables(in text: String, for field: String) throws(ConfigurationError) -> String {
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw ConfigurationError("\(field): a ${ without its closing } (write ${NAME} for the variable NAME)")
            }
            let name = String(rest[open.upperBound..<close])
            guard let value = self.environment[name] else {
                throw ConfigurationError("\(field): the environment variable \(name) is not set")
            }
            guard !value.isEmpty else {
                throw ConfigurationError("\(field): the environment variable \(name) is empty")
            }
            result += rest[..<open.lowerBound]
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    public func resolve(_ references: [String], for field: String) throws(ConfigurationError) -> [String] {
        var values: [String] = []
        for (index, reference) in references.enumerated() {
            values.append(try self.resolve(reference, for: "\(field)[\(index)]"))
        }
        return values
    }
}
