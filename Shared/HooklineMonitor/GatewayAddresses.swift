#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOPosix

/// The gateways behind one name. A configured gateway URL is read as it is, except one written
/// `dns+http://NAME:PORT` (Thanos and Cortex spell service discovery the same way): at each look,
/// NAME is resolved and every address it has is a gateway of its own, `http://ADDRESS:PORT`.
/// That is how replicas behind a Compose service name or a headless Kubernetes service are each
/// read, with their own counters; read through the name alone, each look would reach one of them.
package enum GatewayAddresses {
    /// Resolves a host name to its addresses, numeric (`10.89.0.5`, `::1`).
    package typealias Resolve = @Sendable (_ host: String) async throws -> [String]

    package static let prefix = "dns+"

    /// What to read for one configured URL: the URL itself, or one URL per address of a `dns+`
    /// URL's host, sorted; a name that does not resolve is the error.
    package static func expand(_ url: String, resolve: Resolve = Self.system) async -> Result<[String], GatewayAddressError> {
        guard url.hasPrefix(Self.prefix) else { return .success([url]) }
        let plain = String(url.dropFirst(Self.prefix.count))
        guard let components = URLComponents(string: plain), let host = components.host, let range = components.rangeOfHost else {
            return .failure(GatewayAddressError(message: "\(url) has no host to resolve"))
        }
        let addresses: [String]
        do {
            addresses = try await resolve(host)
        } catch {
            return .failure(GatewayAddressError(message: "\(host) (\(url)) does not resolve: \(error)"))
        }
        guard !addresses.isEmpty else { return .failure(GatewayAddressError(message: "\(host) (\(url)) has no address")) }
        return .success(Set(addresses).sorted().map { address in
            plain.replacingCharacters(in: range, with: address.contains(":") ? "[\(address)]" : address)
        })
    }

    /// The system's resolver (`getaddrinfo`: /etc/hosts, then DNS), on NIO's thread pool since it
    /// blocks.
    package static let system: Resolve = { host in
        try await NIOThreadPool.singleton.runIfActive { try Self.lookUp(host) }
    }

    private static func lookUp(_ host: String) throws(GatewayAddressError) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw GatewayAddressError(message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
            next = entry.pointee.ai_next
        }
        return addresses
    }
}

package struct GatewayAddressError: Error, CustomStringConvertible {
    package var message: String

    package init(message: String) {
        self.message = message
    }

    package var description: String { self.message }
}
