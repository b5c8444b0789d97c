import Foundation
import HooklineTestSupport

/// The real `hookline` executable, built by `swift build --build-tests`, run as a child process.
enum HooklineBinary {
    /// What one run printed and how it ended.
    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        /// Standard output parsed as one JSON object.
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(self.stdout.utf8))) as? [String: Any]
        }

        var description: String { "exit \(self.status)\nstdout: \(self.stdout)\nstderr: \(self.stderr)" }
    }

    /// `$HOOKLINE_BINARY`, else `hookline` next to the test bundle, else `.build/debug/hookline`.
    static let path: String = {
        if let path = ProcessInfo.processInfo.environment["HOOKLINE_BINARY"] { return path }
        var candidates: [URL] = []
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            candidates.append(directory.appendingPathComponent("hookline"))
            directory.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/hookline"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path ?? candidates.last!.path
    }()

    /// A directory with no `deploy/hookline.yaml`, so that only `--config` selects a configuration.
    static let workingDirectory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-cli-tests-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Runs `hookline arguments…` with `environment` added to a clean one (no HOOKLINE_CONFIG or
    /// KAFKA_BROKERS from the caller), and waits for it to exit.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.path)
        process.arguments = arguments
        process.currentDirectoryURL = self.workingDirectory
        var base = ProcessInfo.processInfo.environment
        base["HOOKLINE_CONFIG"] = nil
        base["KAFKA_BROKERS"] = nil
        process.environment = base.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Blocking reads and the wait run on threads of their own: on the cooperative pool they
        // would starve the in-process gateway and consumers the child is talking to.
        let running = UncheckedBox(process)
        let outHandle = UncheckedBox(stdout.fileHandleForReading)
        let errHandle = UncheckedBox(stderr.fileHandleForReading)
        async let out = onThread { outHandle.value.readDataToEndOfFile() }
        async let err = onThread { errHandle.value.readDataToEndOfFile() }
        let (outData, errData) = await (out, err)
        await onThread { running.value.waitUntilExit() }
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// Writes `text` to a fresh file in the working directory and returns its path.
    static func writeFile(_ name: String, _ text: String) throws -> String {
        let url = self.workingDirectory.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(name)")
        try Data(text.utf8).write(to: url)
        return url.path
    }
}

/// A configuration file for the CLI: the test broker, a unique topic prefix, the embedded broker's
/// session timeout, and `extra` YAML appended (sources, services).
func cliConfiguration(broker: EmbeddedBroker, prefix: String, extra: String = "") throws -> String {
    try HooklineBinary.writeFile(
        "hookline.yaml",
        """
        kafka:
          brokers: "\(broker.bootstrapServers)"
          topic_prefix: "\(prefix)"
          partitions: 3
          session_timeout_ms: 6000
        gateway:
          ack_timeout_ms: 5000
          max_body_bytes: 65536
        \(extra)
        """
    )
}

/// Runs blocking `body` on a new thread, off Swift's cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// Hands a non-Sendable Foundation object to one other thread that alone uses it next.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
