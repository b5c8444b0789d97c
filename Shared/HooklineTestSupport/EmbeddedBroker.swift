import Foundation
import HooklineKafka
import Logging
import Synchronization

/// The embedded Kafka-compatible broker (Tansu, memory storage), started on a free loopback
/// port for a test run, a benchmark or `make run`.
///
/// Memory storage only: a restarted broker is empty. A consumer-group join completes about
/// half of `session.timeout.ms` after the first JoinGroup, so use ``consumerSessionTimeout``.
package final class EmbeddedBroker: Sendable {
    package let port: Int
    package let logFile: URL
    private let process: Mutex<Process?>

    /// `host:port` to hand to clients.
    package var bootstrapServers: String { "127.0.0.1:\(self.port)" }

    /// The session timeout the embedded profile uses: joins take half of it.
    package static let consumerSessionTimeout: Duration = .seconds(6)

    /// Starts a broker and waits until it answers a metadata request.
    /// - Parameter port: the port to listen on; a free one when nil.
    package static func start(port: Int? = nil, logger: Logger = Logger(label: "hookline.embedded-broker")) async throws -> EmbeddedBroker {
        let port = try port ?? freeLoopbackPort()
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-tansu-\(port).log")
        let broker = EmbeddedBroker(port: port, logFile: logFile)
        try await broker.launch(logger: logger)
        return broker
    }

    private init(port: Int, logFile: URL) {
        self.port = port
        self.logFile = logFile
        self.process = Mutex(nil)
    }

    deinit {
        self.stop()
    }

    private func launch(logger: Logger) async throws {
        let binary = try Self.binaryPath()
        _ = FileManager.default.createFile(atPath: self.logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: self.logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        let url = "tcp://127.0.0.1:\(self.port)"
        process.arguments = [
            "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/", "--cluster-id", "hookline-embedded-\(self.port)",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["RUST_LOG": "warn"]) { _, new in new }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        StartedBrokers.shared.add(process.processIdentifier)

        // Ready once it answers a metadata request, not merely accepts connections.
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: self.bootstrapServers, clientID: "hookline-broker-probe"),
            requestTimeout: .seconds(1),
            logger: Logger(label: "hookline.embedded-broker.probe", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw EmbeddedBrokerError(message: "the broker exited at start (status \(process.terminationStatus)); see \(self.logFile.path)")
            }
            if (try? await admin.listTopics()) != nil {
                logger.info("embedded broker ready", metadata: ["kafka.bootstrap": "\(self.bootstrapServers)"])
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        self.stop()
        throw EmbeddedBrokerError(message: "the broker did not answer on \(self.bootstrapServers) within 20 s; see \(self.logFile.path)")
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and returns at once: a thread of its
    /// own waits for the exit. Idempotent. Use ``shutDown()`` to wait until the port is free.
    package func stop() {
        guard let process = self.takeProcess() else { return }
        Thread.detachNewThread { Self.terminate(process.value) }
    }

    /// Stops the broker and waits until it has exited, on a thread of its own: a test process has
    /// one cooperative thread per core, and holding one for the seconds Tansu may take to exit
    /// stalls every other test's tasks (seen as timed-out topic creations in CI). Idempotent.
    package func shutDown() async {
        guard let process = self.takeProcess() else { return }
        await onOwnThread { Self.terminate(process.value) }
    }

    /// Stops the broker and starts an empty one on the same port.
    package func restart(logger: Logger = Logger(label: "hookline.embedded-broker")) async throws {
        await self.shutDown()
        try await self.launch(logger: logger)
    }

    private func takeProcess() -> Unchecked<Process>? {
        self.process.withLock { process in
            defer { process = nil }
            return process.flatMap { $0.isRunning ? Unchecked($0) : nil }
        }
    }

    private static func terminate(_ process: Process) {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        StartedBrokers.shared.remove(process.processIdentifier)
    }

    /// Where the broker binary is: `$HOOKLINE_TANSU`, else `.deps/bin/tansu` in the package root.
    package static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["HOOKLINE_TANSU"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let candidate = packageRoot().appendingPathComponent(".deps/bin/tansu").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw EmbeddedBrokerError(message: "no broker binary at \(candidate); run `scripts/setup.sh` (or `make test`), or set HOOKLINE_TANSU")
        }
        return candidate
    }

    /// The package root: found from this source file's location.
    package static func packageRoot() -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // HooklineTestSupport
            .deletingLastPathComponent()  // Shared
            .deletingLastPathComponent()
    }
}

package struct EmbeddedBrokerError: Error, CustomStringConvertible {
    package var message: String

    package init(message: String) {
        self.message = message
    }

    package var description: String { self.message }
}

/// A free TCP port on 127.0.0.1, from the kernel.
package func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw EmbeddedBrokerError(message: "socket() failed: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw EmbeddedBrokerError(message: "bind() failed: \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Brokers this process started, killed when it exits so none outlives a test run.
final class StartedBrokers: Sendable {
    static let shared = StartedBrokers()
    private let pids = Mutex<Set<Int32>>([])

    private init() {
        atexit {
            StartedBrokers.shared.killAll()
        }
    }

    func add(_ pid: Int32) { self.pids.withLock { _ = $0.insert(pid) } }
    func remove(_ pid: Int32) { self.pids.withLock { _ = $0.remove(pid) } }
    func killAll() {
        for pid in self.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
