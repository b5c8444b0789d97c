import Foundation

/// `HOST:PORT`.
public struct ListenAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(_ text: String) throws(ConfigurationError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("listen address \"\(text)\" is not HOST:PORT")
        }
        self.host = String(text[..<colon])
        self.port = port
    }
}
