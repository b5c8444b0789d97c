import AsyncHTTPClient
import Foundation
import HooklineKafka
import HooklineTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// A built executable of this package (see ``builtExecutable(_:)``).
func builtBinary(_ name: String) throws -> URL {
    URL(fileURLWithPath: try builtExecutable(name))
}

/// Runs a program to its end (stopped after `timeout`: `--watch` runs end that way), in a scratch
/// directory so it finds no configuration file by accident.
func run(_ executable: URL, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> BinaryOutput {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "HOOKLINE_CONFIG")
    return try await runBinary(executable.path, arguments: arguments, environment: environment, timeout: timeout)
}

/// `hookline-monitor` running as its own process, on a loopback port of its choosing.
final class MonitorProcess {
    let port: Int
    private let process: Process
    let directory: URL

    var baseURL: String { "http://127.0.0.1:\(self.port)" }
    /// What it has logged so far (warnings and errors: it runs with `--log-level warning`).
    var log: String { (try? String(contentsOf: self.directory.appendingPathComponent("monitor.log"), encoding: .utf8)) ?? "" }

    /// `GET path` from the monitor; when it does not answer, the error says how the process ended.
    func get(_ path: String) async throws -> HTTPAnswer {
        do {
            return try await HooklineMonitorTests.get(self.baseURL + path)
        } catch {
            throw EmbeddedBrokerError(message: "GET \(path): \(error); \(self.ending)")
        }
    }

    /// How the process ended (or that it runs) and the end of its log, for a failed expectation.
    var ending: String {
        let state =
            self.process.isRunning
            ? "still running"
            : "\(self.process.terminationReason == .uncaughtSignal ? "killed by signal" : "exited with") \(self.process.terminationStatus)"
        return "hookline-monitor \(state); its log ends: \(self.log.suffix(1500))"
    }

    /// Starts the monitor against `broker` and waits until `/readyz` answers 200.
    /// `services` become the configuration's `services:` (name → group), whose groups the monitor
    /// watches even when the broker does not list them.
    convenience init(broker: EmbeddedBroker, interval: Double = 0.5, window: Double = 3, gateways: [String] = [], services: [String: String] = [:]) async throws {
        try await self.init(brokers: broker.bootstrapServers, interval: interval, window: window, gateways: gateways, services: services)
    }

    /// Starts the monitor against `brokers`; with `awaiting: "/healthz"` it waits only for the
    /// process to serve (a monitor whose broker is out of reach is never ready).
    init(
        brokers: String,
        interval: Double = 0.5,
        window: Double = 3,
        gateways: [String] = [],
        services: [String: String] = [:],
        awaiting probe: String = "/readyz"
    ) async throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("monitor"))
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let config = self.directory.appendingPathComponent("hookline.yaml")
        try """
        kafka:
          brokers: "\(brokers)"
        monitor:
          listen: "127.0.0.1:0"
          interval_seconds: 5
          window_seconds: 120
        services:
        \(services.map { "  \($0.key): { group: \"\($0.value)\" }" }.joined(separator: "\n"))
        """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try builtBinary("hookline-monitor")
        process.arguments =
            ["--config", config.path, "--listen", "127.0.0.1:0", "--interval", "\(interval)", "--window", "\(window)", "--log-level", "warning"]
            + gateways.flatMap { ["--gateway", $0] }
        process.currentDirectoryURL = self.directory
        let log = self.directory.appendingPathComponent("monitor.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        guard let port = try await listeningPort(of: process) else {
            process.terminate()
            throw EmbeddedBrokerError(message: "hookline-monitor did not listen; see \(log.path)")
        }
        self.port = port

        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw EmbeddedBrokerError(message: "hookline-monitor exited at start; see \(log.path)") }
            if let response = try? await self.get(probe), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw EmbeddedBrokerError(message: "hookline-monitor did not answer \(probe) within 30 s; see \(log.path)")
    }

    /// Sends SIGTERM and returns the exit status.
    func terminate() async -> Int32 {
        let process = self.process
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.terminate()
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}

struct HTTPAnswer {
    var status: Int
    var body: String
}

/// A fresh broker for a test that runs `hookline-monitor` (stop it when done). Not the one the
/// other tests share: the monitor reports every topic and group it sees, and the others make and
/// delete theirs all the while. (With an unpatched librdkafka 2.8, topics recreated there under
/// their names also killed the monitor: confluentinc/librdkafka#4964, patched by setup.)
func monitorBroker() async throws -> EmbeddedBroker {
    try await EmbeddedBroker.start()
}

func get(_ url: String) async throws -> HTTPAnswer {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
    return HTTPAnswer(status: Int(response.status.code), body: String(buffer: body))
}

/// One sample of Prometheus text: its name, labels and value.
struct MetricSample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads Prometheus text exposition (what the monitor writes: no escapes inside label values here).
func parseMetrics(_ text: String) -> [MetricSample] {
    text.split(separator: "\n").compactMap { line -> MetricSample? in
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let open = series.firstIndex(of: "{") else { return MetricSample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
        }
        return MetricSample(name: String(series[..<open]), labels: labels, value: value)
    }
}

/// Reads until `count` records arrived or `timeout` passed.
func read(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [KafkaConsumerMessage] {
    var messages: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count, ContinuousClock.now < deadline {
        messages += await consumer.nextBatch(maxCount: count - messages.count, timeout: deadline - ContinuousClock.now)
    }
    return messages
}
