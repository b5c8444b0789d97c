import Foundation

/// Turns configured secret references into secret values, once, at start-up.
///
/// Every `${NAME}` in a reference is replaced by the environment variable `NAME` (`${TOKEN}`, or
/// `Bearer ${TOKEN}`), and every `${NAME:-default}` by the variable when set and not empty, else
/// by the default (see ``ConfigurationVariables``). Then:
/// - `file:PATH`: the contents of the file at `PATH`, trailing newlines removed (as Docker and
///   Kubernetes secrets mount them); in a list of credentials (a source's `secrets`,
///   `public_keys`, `signing_tokens`, and `hookline send --secret`), each line that is not blank is
///   one, so a mounted file can hold the new and the old secret while a rotation is under way;
/// - anything else: the value itself.
///
/// A missing variable or unreadable file is an error naming the reference, never the value.
package struct SecretResolver: Sendable {
    package var environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// One value: a file's whole contents, however many lines it has (a blank one is an error).
    package func resolve(_ reference: String, for field: String) throws(ConfigurationError) -> String {
        switch try self.expand(reference, for: field) {
        case .value(let value): return value
        case .file(let path, let bytes):
            guard bytes.contains(where: { ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains($0) }) else {
                throw Self.emptyFile(path, field)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A list of credentials: a file gives one per line that is not blank (a line's CR dropped; a
    /// line of spaces and tabs is blank, not a key anyone could sign with), in order.
    package func resolve(_ references: [String], for field: String) throws(ConfigurationError) -> [String] {
        var values: [String] = []
        for (index, reference) in references.enumerated() {
            let field = "\(field)[\(index)]"
            switch try self.expand(reference, for: field) {
            case .value(let value):
                values.append(value)
            case .file(let path, let bytes):
                let lines = bytes.split(separator: UInt8(ascii: "\n")).map { line in
                    String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
                }
                let credentials = lines.filter { $0.contains { $0 != " " && $0 != "\t" } }
                guard !credentials.isEmpty else { throw Self.emptyFile(path, field) }
                values.append(contentsOf: credentials)
            }
        }
        return values
    }

    private enum Expanded {
        case value(String)
        /// The file's bytes, trailing newlines removed.
        case file(path: String, bytes: ArraySlice<UInt8>)
    }

    private func expand(_ reference: String, for field: String) throws(ConfigurationError) -> Expanded {
        // Variables first, once: `file:${SECRETS_DIR}/github` and `${GITHUB_SECRET:-file:/run/secrets/github}`
        // both name a file.
        let reference = try ConfigurationVariables.expand(reference, environment: self.environment, for: field)
        guard reference.hasPrefix("file:") else { return .value(reference) }
        let path = String(reference.dropFirst("file:".count))
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("\(field): cannot read the secret file \(path)")
        }
        // Trimmed as bytes: in a String, "\r\n" is one Character that neither "\n" nor "\r" ends.
        var bytes = Array(data)[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return .file(path: path, bytes: bytes)
    }

    private static func emptyFile(_ path: String, _ field: String) -> ConfigurationError {
        ConfigurationError("\(field): the secret file \(path) is empty")
    }
}
