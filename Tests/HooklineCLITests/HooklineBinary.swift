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
    /// KAFKA_BROKERS from the caller), and waits for it to exit; after `timeout` it is killed and
    /// the run fails.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> Result {
        var base = ProcessInfo.processInfo.environment
        base["HOOKLINE_CONFIG"] = nil
        base["KAFKA_BROKERS"] = nil
        let output = try await runBinary(
            self.path,
            arguments: arguments,
            environment: base.merging(environment) { $1 },
            directory: self.workingDirectory,
            timeout: timeout
        )
        guard !output.timedOut else {
            throw EmbeddedBrokerError(message: "hookline \(arguments.joined(separator: " ")) did not exit within \(timeout): \(output)")
        }
        return Result(status: output.status, stdout: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines), stderr: output.stderr)
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
func cliConfiguration(broker: EmbeddedBroker, prefix: String, properties: String = "{}", extra: String = "") throws -> String {
    try HooklineBinary.writeFile(
        "hookline.yaml",
        """
        kafka:
          brokers: "\(broker.bootstrapServers)"
          topic_prefix: "\(prefix)"
          partitions: 3
          session_timeout_ms: 6000
          properties: \(properties)
        gateway:
          ack_timeout_ms: 5000
          max_body_bytes: 65536
        \(extra)
        """
    )
}
