#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HooklineConfig
import HooklineKafka
import NIOPosix

/// The gateways behind one name. A configured gateway URL is read as it is, except one written
/// `dns+http://NAME:PORT` (Thanos and Cortex spell service discovery the same way): at each look,
/// NAME is resolved and every address it has is a gateway of its own, `http://ADDRESS:PORT`.
/// That is how replicas behind a Compose service name or a headless Kubernetes service are each
/// read, with their own counters; read through the name alone, each look would reach one of them.
///
/// Its IPv4 addresses are taken when it has any, else its IPv6 ones (as HAProxy's
/// `resolve-prefer ipv4` does): on a dual-stack network each replica has one of each, and a
/// gateway listening on `0.0.0.0` answers on the first only. Over plain `http` only: a replica's
/// certificate names the service, not its address.
package enum GatewayAddresses {
    /// Resolves a host name to its addresses, numeric (`10.89.0.5`, `::1`).
    package typealias Resolve = @Sendable (_ host: String) async throws -> [String]

    package static let prefix = "dns+"

    /// Why `url` cannot be read (nil when it can): not an http(s) URL, or a `dns+` one that is not http.
    package static func problem(with url: String) -> String? {
        let named = url.hasPrefix(Self.prefix)
        let plain = named ? String(url.dropFirst(Self.prefix.count)) : url
        guard let parsed = try? URL.http(plain, field: ""), !named || parsed.scheme?.lowercased() == "http" else {
            return named
                ? "\(url) is not a dns+http URL (dns+ reads each address over plain http: a certificate names the service, not an address)"
                : "\(url) is not an http or https URL, nor a dns+http one"
        }
        return nil
    }

    /// What to read for one configured URL: the URL itself, or one URL per address of a `dns+`
    /// URL's host (IPv4 ones when it has any), sorted; a name that does not resolve, or not
    /// within `timeout`, is the error.
    package static func expand(_ url: String, timeout: Duration, resolve: @escaping Resolve = Self.system) async -> Result<[String], GatewayAddressError> {
        guard url.hasPrefix(Self.prefix) else { return .success([url]) }
        let plain = String(url.dropFirst(Self.prefix.count))
        guard let components = URLComponents(string: plain), let host = components.host, let range = components.rangeOfHost else {
            return .failure(GatewayAddressError(message: "\(url) has no host to resolve"))
        }
        // A lookup blocked in getaddrinfo (a resolver that does not answer) cannot be cancelled:
        // it is given up at the deadline, and finishes on its own.
        let lookup = Task { () -> Result<[String], any Error> in
            do { return .success(try await resolve(host)) } catch { return .failure(error) }
        }
        let addresses: [String]
        switch await lookup.value(before: .now + timeout) {
        case .success(let found)?:
            addresses = found
        case .failure(let error)?:
            return .failure(GatewayAddressError(message: "\(host) (\(url)) does not resolve: \(error)"))
        case nil:
            return .failure(GatewayAddressError(message: "\(host) (\(url)) does not resolve: no answer within \(timeout.inSeconds) s"))
        }
        guard !addresses.isEmpty else { return .failure(GatewayAddressError(message: "\(host) (\(url)) has no address")) }
        let v4 = addresses.filter { !$0.contains(":") }
        return .success(Set(v4.isEmpty ? addresses : v4).sorted().map { address in
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
