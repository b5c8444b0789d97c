import Foundation

/// The TCP ports process `pid` listens on, from /proc: the listening sockets of `/proc/net/tcp`
/// and `tcp6` (their inodes) against the process's descriptors.
package func listeningPorts(of pid: Int32) -> Set<Int> {
    var portsByInode: [String: Int] = [:]
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            // sl, local_address (address:port, in hex), rem_address, st (0A: LISTEN), …, inode (the tenth).
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
            else { continue }
            portsByInode[String(fields[9])] = port
        }
    }
    let descriptors = "/proc/\(pid)/fd"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: descriptors) else { return [] }
    return Set(
        entries.compactMap { entry in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(descriptors)/\(entry)"),
                target.hasPrefix("socket:[")
            else { return nil }
            return portsByInode[String(target.dropFirst(8).dropLast())]
        }
    )
}

/// The port a server `process` started with `--listen 127.0.0.1:0` listens on, once it does; nil
/// when it exits first or does not listen within `timeout`.
///
/// A port of its own choosing cannot be taken by another test's server, as one chosen before the
/// start (``freeLoopbackPort()``) can be between the choice and the server's bind; the server then
/// fails to start, or a probe of that port reaches the other server.
package func listeningPort(of process: Process, within timeout: Duration = .seconds(20)) async throws -> Int? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline, process.isRunning {
        if let port = listeningPorts(of: process.processIdentifier).first { return port }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}
