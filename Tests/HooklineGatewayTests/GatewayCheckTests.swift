import Foundation
import HooklineTestSupport
import Testing

/// `hookline-gateway --check`, and start-up refusing a configuration, on the real executable.
@Suite("Gateway configuration check", .timeLimit(.minutes(1)))
struct GatewayCheckTests {
    @Test("--check resolves every secret and names what would be served, without the secrets and without contacting the broker")
    func checkPasses() async throws {
        let directory = try temporaryDirectory()
        let previous = directory.appendingPathComponent("previous")
        try "previous-secret-value".write(to: previous, atomically: true, encoding: .utf8)
        let run = try await runGateway(
            ["--check", "--listen", "127.0.0.1:9999"],
            yaml: """
                kafka: { brokers: "127.0.0.1:1", topic_prefix: "checked", partitions: 3, properties: { "linger.ms": "2" },
                         topic_config: { "retention.ms": "604800000", "min.insync.replicas": "2" } }
                sources:
                  github: { provider: github, secrets: ["${CHECK_GITHUB_SECRET}", "file:\(previous.path)"], rate_limit_per_second: 50 }
                  discord: { provider: discord, public_keys: ["\(String(repeating: "ab", count: 32))"], ack_timeout_ms: 2500 }
                """,
            in: directory,
            environment: ["CHECK_GITHUB_SECRET": "current-secret-value"]
        )
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("configuration OK"))
        #expect(run.stdout.contains("listen 127.0.0.1:9999"))
        #expect(run.stdout.contains(
            "kafka 127.0.0.1:1 (not contacted), topics checked.<source>.<event>, 3 partitions, replication the cluster's default, topic config min.insync.replicas=2 retention.ms=604800000\n"
        ), "\(run.stdout)")
        #expect(run.stdout.contains("POST /webhooks/github: github, 2 secrets, ack timeout 5000 ms, at most 50 requests/s"))
        #expect(run.stdout.contains("POST /webhooks/discord: discord, 1 public key, ack timeout 2500 ms"))
        for secret in ["current-secret-value", "previous-secret-value"] {
            #expect(!run.stdout.contains(secret) && !run.stderr.contains(secret))
        }
        #expect(!run.stderr.contains("Connect to"), "\(run.stderr)")
    }

    @Test("a kafka.properties message.max.bytes below max_body_bytes + 64 KiB is refused (exit 78): the gateway would read bodies it cannot send")
    func refusesAProducerSmallerThanItsBodies() async throws {
        let directory = try temporaryDirectory()
        /// A producer limited to 1,000,000 bytes, with bodies of up to `maxBodyBytes` (default 1 MiB).
        func yaml(maxBodyBytes: Int? = nil) -> String {
            """
            kafka: { brokers: "127.0.0.1:1", properties: { "message.max.bytes": "1000000" } }
            gateway: { \(maxBodyBytes.map { "max_body_bytes: \($0)" } ?? "") }
            sources:
              github: { provider: github, secrets: ["a-secret-value"], events: [push] }
            """
        }
        let run = try await runGateway(["--check"], yaml: yaml(), in: directory)
        #expect(run.status == 78, "\(run.stdout)")
        #expect(run.stderr.contains(
            "kafka.properties.message.max.bytes (1000000) is below the largest record the gateway accepts, gateway.max_body_bytes + 65536 = 1114112"
        ), "\(run.stderr)")
        let fitting = try await runGateway(["--check"], yaml: yaml(maxBodyBytes: 900_000), in: directory)
        #expect(fitting.status == 0, "\(fitting.stderr)")
    }

    @Test("without --config, the file is $HOOKLINE_CONFIG's; with it, --config's")
    func configFromTheEnvironment() async throws {
        let directory = try temporaryDirectory()
        let yaml = """
            kafka: { brokers: "127.0.0.1:1", topic_prefix: "from-env" }
            gateway: { listen: "127.0.0.1:9998" }
            sources:
              github: { provider: github, secrets: ["a-secret-value"], events: [push] }
            """
        let run = try await runGateway(["--check"], yaml: yaml, in: directory, configFrom: .environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("listen 127.0.0.1:9998"), "\(run.stdout)")
        #expect(run.stdout.contains("topics from-env.<source>.<event>"), "\(run.stdout)")

        let missing = directory.appendingPathComponent("not-there.yaml").path
        let flagWins = try await runGateway(["--check"], yaml: yaml, in: directory, environment: ["HOOKLINE_CONFIG": missing])
        #expect(flagWins.status == 0, "\(flagWins.stderr)")
        let flagMissing = try await runGateway(["--check", "--config", missing], yaml: yaml, in: directory, configFrom: .environment)
        #expect(flagMissing.status == 78, "\(flagMissing.stdout)")
    }

    @Test("--check warns of a kafka.topic_config key that is no Kafka topic setting (misspelt), which would fail the creation of every topic; a platform's own namespace passes quietly")
    func checkWarnsOfAMisspeltTopicSetting() async throws {
        let directory = try temporaryDirectory()
        let run = try await runGateway(
            ["--check"],
            yaml: """
                kafka: { brokers: "127.0.0.1:1", topic_config: { "retention.msec": "604800000", "min.insync.replicas": "2", "confluent.placement.constraints": "{}" } }
                sources:
                  github: { provider: github, secrets: ["a-secret-value"] }
                """,
            in: directory
        )
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(
            "warning: kafka.topic_config: retention.msec is not a topic setting Apache Kafka knows (misspelt?); a cluster refuses to create a topic with one"
        ), "\(run.stdout)")
        let clean = try await runGateway(
            ["--check"],
            yaml: """
                kafka: { brokers: "127.0.0.1:1", topic_config: { "retention.ms": "604800000", "redpanda.remote.read": "true" } }
                sources:
                  github: { provider: github, secrets: ["a-secret-value"], events: [push] }
                """,
            in: directory
        )
        #expect(clean.status == 0 && !clean.stdout.contains("warning"), "\(clean.stdout)")
    }

    @Test("--check asks for events: where the signature leaves the event type open (an unsigned header, a token, Twilio's undelimited form, a header the body need not hold), and only there")
    func checkAsksForEventsWhereTheEventIsUnsigned() async throws {
        let directory = try temporaryDirectory()
        let run = try await runGateway(
            ["--check"],
            yaml: """
                kafka: { brokers: "127.0.0.1:1" }
                sources:
                  github: { provider: github, secrets: ["a"] }
                  listed: { provider: github, secrets: ["a"], events: [push] }
                  shop: { provider: shopify, secrets: ["a"] }
                  twilio: { provider: twilio, secrets: ["a"], public_url: "https://hooks.example.com/webhooks/twilio" }
                  gitlab: { provider: gitlab, secrets: ["a"] }
                  signed: { provider: gitlab, signing_tokens: ["whsec_\(Data("a-signing-token".utf8).base64EncodedString())"] }
                  legacy: { provider: hmac-sha256, secrets: ["a"], signature_header: "X-Signature", event_type_header: "X-Event-Type" }
                  bound: { provider: hmac-sha256, secrets: ["a"], signature_header: "X-Signature", event_type_header: "X-Event-Type", event_type_json_pointer: "/type" }
                  stripe: { provider: stripe, secrets: ["whsec_\(Data("a-stripe-secret".utf8).base64EncodedString())"] }
                """,
            in: directory
        )
        #expect(run.status == 0, "\(run.stderr)")
        let warned = run.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "warning: sources.") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != ":" })
        }
        #expect(warned == ["bound", "github", "gitlab", "legacy", "shop", "signed", "twilio"], "\(run.stdout)")
        #expect(run.stdout.contains(
            "warning: sources.github: its event type comes from the X-GitHub-Event header, which the signature does not cover: a captured delivery sent again under made-up event names would get a topic for each; list the events you subscribe to in events: (docs/gateway.md, Routing)"
        ))
        #expect(run.stdout.contains("warning: sources.legacy: its event type comes from the X-Event-Type header,"))
        #expect(run.stdout.contains("warning: sources.twilio: its event type comes from form parameters the signature does not delimit,"))
        #expect(run.stdout.contains("warning: sources.signed: its event type comes from the X-Gitlab-Event header where the signed body has no object_kind to hold it to (system hooks),"))
        #expect(run.stdout.contains("warning: sources.bound: its event type comes from the X-Event-Type header where the signed body has nothing at event_type_json_pointer,"))
    }

    @Test("--check names the connections start-up would allow: fewer than gateway.max_connections when the open-file limit leaves no room for them")
    func checkNamesTheConnectionsAllowed() async throws {
        let directory = try temporaryDirectory()
        let yaml = """
            kafka: { brokers: "127.0.0.1:1" }
            sources:
              github: { provider: github, secrets: ["a-secret-value"] }
            """
        let limited = try await runGateway(["--check"], yaml: yaml, in: directory, openFiles: (100, 128))
        #expect(limited.status == 0, "\(limited.stderr)")
        let match = try #require(
            limited.stdout.firstMatch(of: /at most ([0-9]+) connections \(gateway.max_connections 4096, fewer for the open-file limit 128\)/),
            "\(limited.stdout)"
        )
        // 128 less the descriptors kept aside (64, and 4 for each event loop).
        #expect((1..<64).contains(Int(match.1) ?? 0), "\(match.1)")

        let roomy = try await runGateway(["--check"], yaml: yaml, in: directory, openFiles: (1024, 8192))
        #expect(roomy.stdout.contains("bytes, at most 4096 connections\n"), "\(roomy.stdout)")
    }

    @Test("--check accepts a managed cluster's settings (SASL_SSL with SCRAM, credentials from the environment and a file, zstd and lz4): the librdkafka it runs on has TLS, SASL and the codecs")
    func checkAcceptsManagedClusterSettings() async throws {
        let directory = try temporaryDirectory()
        let password = directory.appendingPathComponent("kafka_password")
        try "kafka-password-value".write(to: password, atomically: true, encoding: .utf8)
        for codec in ["zstd", "lz4"] {
            let run = try await runGateway(
                ["--check"],
                yaml: """
                    kafka:
                      brokers: "127.0.0.1:1"
                      properties:
                        security.protocol: "SASL_SSL"
                        sasl.mechanisms: "SCRAM-SHA-512"
                        sasl.username: "${CHECK_KAFKA_USER}"
                        sasl.password: "file:\(password.path)"
                        compression.codec: "\(codec)"
                    sources:
                      github: { provider: github, secrets: ["a-secret-value"] }
                    """,
                in: directory,
                environment: ["CHECK_KAFKA_USER": "hookline"]
            )
            #expect(run.status == 0, "\(codec): \(run.stderr)")
            #expect(!run.stdout.contains("kafka-password-value") && !run.stderr.contains("kafka-password-value"))
        }
    }

    @Test("--check exits 78 and says which field is wrong: a missing secret, a librdkafka property it does not know, a conflict between properties")
    func checkFails() async throws {
        let directory = try temporaryDirectory()
        let cases: [(properties: String, secret: String, expected: String)] = [
            (#"{ "linger.ms": "2" }"#, "${CHECK_UNSET_SECRET}", "sources.github.secrets[0]: the environment variable CHECK_UNSET_SECRET is not set"),
            (#"{ "linger.msx": "2" }"#, "a-secret-value", #"kafka.properties: linger.msx: No such configuration property: "linger.msx""#),
            (#"{ "max.in.flight": "10" }"#, "a-secret-value", "kafka.properties: `max.in.flight` must be set <= 5 when `enable.idempotence` is true"),
            (#"{ "acks": "0", "enable.idempotence": "false" }"#, "a-secret-value", ".yaml: kafka.properties.acks: Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not 0"),
        ]
        for (properties, secret, expected) in cases {
            let run = try await runGateway(
                ["--check"],
                yaml: """
                    kafka: { brokers: "127.0.0.1:1", properties: \(properties) }
                    sources:
                      github: { provider: github, secrets: ["\(secret)"] }
                    """,
                in: directory
            )
            #expect(run.status == 78)
            // A mistake in the file itself is prefixed with the file's path.
            #expect(run.stderr.contains(expected.hasPrefix(".yaml") ? expected : "configuration invalid: \(expected)"), "\(run.stderr)")
            #expect(!run.stderr.contains("a-secret-value") && run.stdout.isEmpty)
        }
    }

    @Test("start-up with a property librdkafka refuses stops at once with exit 78, before any client tries the broker")
    func startRefusesBadProperties() async throws {
        let run = try await runGateway(
            [],
            yaml: """
                kafka: { brokers: "127.0.0.1:1", properties: { "max.in.flight": "10" } }
                gateway: { listen: "127.0.0.1:0" }
                sources:
                  github: { provider: github, secrets: ["a-secret-value"] }
                """,
            in: try temporaryDirectory()
        )
        #expect(run.status == 78)
        #expect(run.stderr.contains("cannot start: kafka.properties: `max.in.flight` must be set <= 5"), "\(run.stderr)")
        #expect(!run.stderr.contains("Connect to"), "\(run.stderr)")
    }
}

private func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("check"))
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Where ``runGateway(_:yaml:in:environment:openFiles:configFrom:)`` names its file: `--config`, or `HOOKLINE_CONFIG`.
private enum ConfigFrom { case flag, environment }

/// Runs the gateway executable on `yaml` with `arguments`, to its exit (10 s at most).
/// `openFiles`: run under `prlimit --nofile=SOFT:HARD`.
private func runGateway(
    _ arguments: [String],
    yaml: String,
    in directory: URL,
    environment: [String: String] = [:],
    openFiles: (soft: Int, hard: Int)? = nil,
    configFrom: ConfigFrom = .flag
) async throws -> (status: Int32, stdout: String, stderr: String) {
    let config = directory.appendingPathComponent("hookline-\(UUID().uuidString.prefix(8)).yaml")
    try yaml.write(to: config, atomically: true, encoding: .utf8)
    var environment = environment
    var arguments = arguments
    switch configFrom {
    case .flag: arguments = ["--config", config.path] + arguments
    case .environment: environment["HOOKLINE_CONFIG"] = config.path
    }
    let stdout = directory.appendingPathComponent("stdout-\(UUID().uuidString.prefix(8))")
    let stderr = directory.appendingPathComponent("stderr-\(UUID().uuidString.prefix(8))")
    _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try GatewayProcess.binary())
    process.arguments = arguments
    if let openFiles {
        process.arguments = ["--nofile=\(openFiles.soft):\(openFiles.hard)", process.executableURL!.path] + process.arguments!
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
    }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = try FileHandle(forWritingTo: stdout)
    process.standardError = try FileHandle(forWritingTo: stderr)
    try process.run()
    guard let status = await exitStatus(of: process, within: .seconds(10)) else {
        throw EmbeddedBrokerError(message: "hookline-gateway \(arguments) did not exit within 10 s")
    }
    return (status, try String(contentsOf: stdout, encoding: .utf8), try String(contentsOf: stderr, encoding: .utf8))
}
