import Foundation

/// Turns configured secret references into secret values, once, at start-up.
///
/// Every `${NAME}` in a reference is replaced by the environment variable `NAME` (`${TOKEN}`, or
/// `Bearer ${TOKEN}`), and every `${NAME:-default}` by the variable when set and not empty, else
/// by the default (see ``ConfigurationVariables``). Then:
/// - `file:PATH`: the contents of the file at `PATH`, trailing newlines removed (as Docker and
///   Kubernetes secrets mount them);
/// - anything else: the value itself.
///
/// A missing variable or unreadable file is an error naming the reference, never the value.
package struct SecretResolver: Sendable {
    package var environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    package func resolve(_ reference: String, for field: String) throws(ConfigurationError) -> String {
        // Variables first, once: `file:${SECRETS_DIR}/github` and `${GITHUB_SECRET:-file:/run/secrets/github}`
        // both name a file.
        let reference = try ConfigurationVariables.expand(reference, environment: self.environment, for: field)
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
        return reference
    }

    package func resolve(_ references: [String], for field: String) throws(ConfigurationError) -> [String] {
        var values: [String] = []
        for (index, reference) in references.enumerated() {
            values.append(try self.resolve(reference, for: "\(field)[\(index)]"))
        }
        return values
    }
}
