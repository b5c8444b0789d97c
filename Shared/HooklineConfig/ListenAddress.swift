import Foundation

/// `HOST:PORT`, where HOST is a name, an IPv4 address, or an IPv6 address in brackets as in URLs
/// (`[::]:8080` listens on every interface, IPv4 included where the system maps it).
package struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host to bind, without brackets.
    package var host: String
    package var port: Int

    package init(_ text: String) throws(ConfigurationError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("listen address \"\(text)\" is not HOST:PORT")
        }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw ConfigurationError("listen address \"\(text)\": write an IPv6 address in brackets, as in [::1]:\(port)")
        }
        guard !host.isEmpty else {
            throw ConfigurationError("listen address \"\(text)\" has no host: 0.0.0.0:\(port) is every IPv4 interface, [::]:\(port) every interface")
        }
        self.host = String(host)
        self.port = port
    }

    /// As written in a configuration: an IPv6 address in brackets.
    package var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}
