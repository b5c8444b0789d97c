import Foundation

/// What every executable's `--check` prints, so their output reads alike.
package enum ConfigurationCheck {
    /// On standard output: `configuration OK`, then one indented line per thing it would run.
    package static func printPassed(_ lines: [String]) {
        print((["configuration OK"] + lines).joined(separator: "\n  "))
    }

    /// On standard error: `configuration invalid: <what to fix>`. The caller exits 78 (EX_CONFIG).
    package static func printInvalid(_ error: ConfigurationError) {
        FileHandle.standardError.write(Data("configuration invalid: \(error.message)\n".utf8))
    }
}

extension URL {
    /// `text` as an `http` or `https` URL with a host, the only kind a Hookline process calls
    /// (a CI trigger, a gateway's metrics).
    /// - Throws: an error naming `field` for anything else.
    package static func http(_ text: String, field: String) throws(ConfigurationError) -> URL {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased()), url.host?.isEmpty == false else {
            throw ConfigurationError("\(field): \(text) is not an http or https URL")
        }
        return url
    }
}
