import Foundation
import HooklineTestSupport
import Testing

/// `hookline-monitor --check`, and start-up refusing a configuration, on the real executable.
@Suite("Monitor configuration check", .timeLimit(.minutes(1)))
struct MonitorCheckTests {
    @Test("--check names what the monitor would watch without contacting the broker or a gateway; the services' groups are watched")
    func checkPasses() async throws {
        let config = try writeConfiguration(
            """
            kafka: { brokers: "127.0.0.1:1", properties: { "socket.timeout.ms": "5000" } }
            monitor: { interval_seconds: 2, window_seconds: 60, gateways: ["http://127.0.0.1:1", "dns+http://gateway:8080"] }
            services:
              orders: { group: "shop-orders" }
            """
        )
        let run = try await runBinary(
            try builtExecutable("hookline-monitor"),
            arguments: ["--config", config, "--check", "--listen", "127.0.0.1:9997"],
            environment: [:]
        )
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("configuration OK"))
        #expect(run.stdout.contains("listen 127.0.0.1:9997"))
        #expect(run.stdout.contains("kafka 127.0.0.1:1 (not contacted), a look every 2 s, statuses judged over 60 s"), "\(run.stdout)")
        #expect(run.stdout.contains("groups watched besides those the cluster lists: shop-orders"), "\(run.stdout)")
        #expect(run.stdout.contains("gateway traffic read from http://127.0.0.1:1, dns+http://gateway:8080"), "\(run.stdout)")
        #expect(!run.stderr.contains("Connect to"), "\(run.stderr)")
    }

    @Test("--check exits 78 and names the field: a librdkafka property, a gateway URL from the file or the command line, an interval too short or longer than the window")
    func checkFails() async throws {
        let cases: [(yaml: String, arguments: [String], expected: String)] = [
            (#"kafka: { brokers: "127.0.0.1:1", properties: { "socket.timeout.msx": "5000" } }"#, [], #"kafka.properties: socket.timeout.msx: No such configuration property"#),
            (#"monitor: { gateways: ["gateway-1:8080/metrics"] }"#, [], "monitor.gateways (or --gateway): gateway-1:8080/metrics is not an http or https URL, nor a dns+http one"),
            ("", ["--gateway", "http://127.0.0.1:8080", "--gateway", "ftp://127.0.0.1"], "monitor.gateways (or --gateway): ftp://127.0.0.1 is not an http or https URL, nor a dns+http one"),
            ("", ["--gateway", "dns+ftp://gateway"], "monitor.gateways (or --gateway): dns+ftp://gateway is not a dns+http URL (dns+ reads each address over plain http: a certificate names the service, not an address)"),
            ("", ["--gateway", "dns+https://gateway:8443"], "monitor.gateways (or --gateway): dns+https://gateway:8443 is not a dns+http URL (dns+ reads each address over plain http: a certificate names the service, not an address)"),
            ("", ["--interval", "0.0004"], "monitor.interval_seconds (or --interval) must be at least 0.1 s"),
            ("monitor: { window_seconds: 30 }", ["--interval", "60"], "monitor.window_seconds (or --window) must be at least monitor.interval_seconds (or --interval)"),
        ]
        for (yaml, arguments, expected) in cases {
            let config = try writeConfiguration(yaml.hasPrefix("kafka:") ? yaml : #"kafka: { brokers: "127.0.0.1:1" }"# + "\n" + yaml)
            let run = try await runBinary(try builtExecutable("hookline-monitor"), arguments: ["--config", config, "--check"] + arguments, environment: [:])
            #expect(run.status == 78, "\(expected): \(run)")
            #expect(run.stderr.contains("configuration invalid: \(expected)"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test("started with a property librdkafka refuses, the monitor stops at once with exit 78, before it listens or tries the broker")
    func startRefusesBadProperties() async throws {
        let config = try writeConfiguration(
            """
            kafka: { brokers: "127.0.0.1:1", properties: { "socket.timeout.msx": "5000" } }
            monitor: { listen: "127.0.0.1:0" }
            """
        )
        let run = try await runBinary(try builtExecutable("hookline-monitor"), arguments: ["--config", config], environment: [:], timeout: .seconds(20))
        #expect(run.status == 78, "\(run)")
        #expect(run.stderr.contains("cannot start: kafka.properties: socket.timeout.msx: No such configuration property"), "\(run.stderr)")
        #expect(!run.stderr.contains("Server started") && !run.stderr.contains("Connect to"), "\(run.stderr)")
    }
}

/// Writes `yaml` to a fresh file and returns its path.
func writeConfiguration(_ yaml: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("monitor-check"))
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent("hookline.yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
