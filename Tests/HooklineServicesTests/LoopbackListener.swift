import Foundation
import HooklineTestSupport
import Synchronization

/// A TCP listener on 127.0.0.1 (a free port) that accepts every connection and hands it to
/// `serve`, on a thread of its own, with its number (0 for the first). The default serves
/// nothing: it neither reads nor answers, an HTTP server that hangs. Connections stay open until
/// ``close()``.
final class LoopbackListener: Sendable {
    let port: Int
    private let socket: Int32
    private let state = Mutex<(accepted: [Int32], closed: Bool)>(([], false))

    var accepted: Int { self.state.withLock { $0.accepted.count } }

    init(serve: @escaping @Sendable (_ connection: Int32, _ index: Int) -> Void = { _, _ in }) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard socket >= 0, bound == 0, listen(socket, 16) == 0 else { throw EmbeddedBrokerError(message: "cannot listen on 127.0.0.1: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.socket = socket
        self.port = Int(UInt16(bigEndian: address.sin_port))
        // Holds the listener until `close()` ends its accept loop.
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(socket, nil, nil)
                guard connection >= 0 else { return }  // closed
                let index: Int? = self.state.withLock { state in
                    guard !state.closed else { return nil }
                    state.accepted.append(connection)
                    return state.accepted.count - 1
                }
                guard let index else {
                    Glibc.close(connection)
                    continue
                }
                Thread.detachNewThread { serve(connection, index) }
            }
        }
    }

    func close() {
        let connections = self.state.withLock { state in
            state.closed = true
            return state.accepted
        }
        Glibc.shutdown(self.socket, Int32(SHUT_RDWR))
        Glibc.close(self.socket)
        connections.forEach { _ = Glibc.close($0) }
    }
}

extension LoopbackListener {
    /// A listener answering each HTTP/1.1 request (one a connection) with `reply(index, head)`:
    /// a status, after a delay counted from the request's arrival, with an empty body. `head` is
    /// the request line and header lines, lowercased. `headers(index)` adds header lines to the
    /// answer, each ending in CRLF.
    static func http(
        reply: @escaping @Sendable (_ index: Int, _ head: String) -> (delay: Duration, status: Int),
        headers: @escaping @Sendable (_ index: Int) -> String = { _ in "" }
    ) throws -> LoopbackListener {
        try LoopbackListener { connection, index in
            guard let head = readRequest(connection) else { return }
            let (delay, status) = reply(index, head)
            Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            let response = Array("HTTP/1.1 \(status) Status\r\n\(headers(index))Content-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = response.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Glibc.shutdown(connection, Int32(SHUT_RDWR))
        }
    }

    /// Reads one request's head and its `Content-Length` body, and returns the head (lowercased);
    /// nil when the peer went away first.
    private static func readRequest(_ connection: Int32) -> String? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count - end.upperBound >= length { return head }
            }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            received += buffer[..<count]
        }
    }
}
