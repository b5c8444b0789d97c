import Foundation
@testable import HooklineConfig
import HooklineWebhooks
import Testing

@Suite("Configuration file")
struct ConfigurationTests {
    static let example = """
        kafka:
          brokers: "127.0.0.1:9092"
          topic_prefix: "webhooks"
          partitions: 6
          replication_factor: 1
          properties: { "linger.ms": "2" }
        gateway:
          listen: "0.0.0.0:8080"
          max_body_bytes: 1048576
          ack_timeout_ms: 5000
        sources:
          github:  { provider: github, secrets: ["${GITHUB_WEBHOOK_SECRET}", "file:/run/secrets/gh_previous"] }
          stripe:  { provider: stripe, secrets: ["whsec_abc"], tolerance_seconds: 300 }
          slack:   { provider: slack, secrets: ["x"], tolerance_seconds: 300, ack_timeout_ms: 2500 }
          twilio:  { provider: twilio, secrets: ["<auth token>"], public_url: "https://hooks.example.com/webhooks/twilio" }
          legacy:  { provider: hmac-sha256, secrets: ["..."], signature_header: "X-Signature", signature_prefix: "sha256=",
                     event_type_json_pointer: "/event_type" }
        services:
          orders:   { group: "hookline-orders",   database: "./data/orders.sqlite",   listen: "127.0.0.1:8091" }
          ci:       { group: "hookline-ci", database: "./data/ci.sqlite", listen: "127.0.0.1:8093",
                      trigger_url: "https://ci.example.com/api/builds" }
        """

    @Test("the documented example parses into its sections, with defaults for what it leaves out")
    func parsesTheExample() throws {
        let configuration = try HooklineConfiguration.parse(Self.example)
        #expect(configuration.kafka.brokers == "127.0.0.1:9092")
        #expect(configuration.kafka.partitions == 6)
        #expect(configuration.kafka.properties == ["linger.ms": "2"])
        #expect(configuration.kafka.sessionTimeoutMs == 45_000)
        #expect(configuration.gateway.ackTimeoutMs == 5000)
        #expect(configuration.gateway.requestTimeoutMs == 10_000)
        #expect(configuration.sources.keys.sorted() == ["github", "legacy", "slack", "stripe", "twilio"])
        #expect(configuration.sources["github"]?.secrets == ["${GITHUB_WEBHOOK_SECRET}", "file:/run/secrets/gh_previous"])
        #expect(configuration.sources["slack"]?.ackTimeoutMs == 2500)
        #expect(configuration.sources["twilio"]?.publicURL == "https://hooks.example.com/webhooks/twilio")
        #expect(configuration.sources["legacy"]?.eventTypeJSONPointer == "/event_type")
        #expect(configuration.sources["legacy"]?.signaturePrefix == "sha256=")
        #expect(configuration.services["orders"]?.database == "./data/orders.sqlite")
        #expect(configuration.services["ci"]?.triggerURL == "https://ci.example.com/api/builds")
        #expect(configuration.monitor.listen == "127.0.0.1:8099")
    }

    @Test("topic_config keys that are no Apache Kafka topic setting and in no platform's namespace are named, sorted; known ones are not")
    func unfamiliarTopicConfigKeys() throws {
        let configuration = try HooklineConfiguration.parse(
            #"kafka: { topic_config: { retention.msec: "1", min.insync.replica: "2", retention.ms: "3", confluent.tier.enable: "true", redpanda.remote.read: "true" } }"#
        )
        #expect(configuration.kafka.unfamiliarTopicConfigKeys == ["min.insync.replica", "retention.msec"])
        #expect(configuration.kafka.unfamiliarTopicConfigWarning?.hasPrefix("warning: kafka.topic_config: min.insync.replica, retention.msec are not topic settings") == true)
        #expect(try HooklineConfiguration.parse(#"kafka: { topic_config: { retention.ms: "3" } }"#).kafka.unfamiliarTopicConfigWarning == nil)
    }

    @Test("an empty file is all defaults")
    func emptyIsDefaults() throws {
        let configuration = try HooklineConfiguration.parse("{}")
        #expect(configuration.kafka.topicPrefix == "webhooks")
        #expect(configuration.gateway.listen == "0.0.0.0:8080")
        #expect(configuration.gateway.maxBodyBytes == 1_048_576)
        #expect(configuration.kafka.replicationFactor == -1)
        #expect(configuration.kafka.topicConfig.isEmpty)
        #expect(configuration.sources.isEmpty)
    }

    @Test(
        "mistakes are refused with a message naming where",
        arguments: [
            ("gateway: { ack_timeout: 5 }", "unknown key gateway.ack_timeout"),
            ("sources: { gh: { secrets: [a] } }", "missing required key provider"),
            ("kafka: { partitions: many }", "kafka.partitions: expected a whole number"),
            ("gateway: { max_body_bytes: 1.5 }", "gateway.max_body_bytes: expected a whole number"),
            ("sources: { gh: { provider: github, secrets: a } }", "sources.gh.secrets: expected a list"),
            ("kafka: { properties: [a] }", "kafka.properties: expected a mapping"),
            ("kafka:\n  brokers: [a, b\n", "not valid YAML: line 3, column 1: did not find expected ',' or ']' (while parsing a flow sequence from line 2, column 12)"),
            ("sources:\n  gh: { provider: github }\n  gh: { provider: stripe }\n", "not valid YAML: the mapping at line 2, column 3 has the key 'gh' more than once"),
            ("sources: { \"Bad Name\": { provider: github } }", "a source name may use only"),
            ("kafka: { partitions: 0 }", "kafka.partitions must be at least 1"),
            ("kafka: { replication_factor: 0 }", "kafka.replication_factor must be at least 1, or -1 for the cluster's default.replication.factor"),
            ("kafka: { topic_config: { retention.ms: \"\" } }", "kafka.topic_config: retention.ms has an empty value"),
            ("kafka: { topic_prefix: \"hooks/prod\" }", "kafka.topic_prefix may use only"),
            ("kafka: { properties: { acks: \"1\" } }", "kafka.properties.acks: Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not 1"),
            ("kafka: { properties: { request.required.acks: \"0\", enable.idempotence: \"false\" } }", "kafka.properties.request.required.acks: Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not 0"),
            ("kafka: { properties: { topic.acks: \"0\", enable.idempotence: \"false\" } }", "kafka.properties.topic.acks: Hookline answers 2xx only once a record is on every in-sync replica, so acks must be all (or -1), not 0"),
            ("gateway: { request_timeout_ms: 0 }", "gateway.request_timeout_ms must be positive"),
            ("gateway: { max_connections: 0 }", "gateway.max_connections must be positive"),
            ("gateway: { idle_timeout_ms: 10000 }", "gateway.idle_timeout_ms (10000) must be longer than gateway.request_timeout_ms (10000)"),
            ("gateway: { max_body_bytes: 104857601 }", "gateway.max_body_bytes must be at most 104857600 (100 MiB)"),
            ("gateway: { shutdown_grace_ms: -1 }", "gateway.shutdown_grace_ms must not be negative"),
            ("sources: { gh: { provider: stripe, tolerance_seconds: -300 } }", "sources.gh.tolerance_seconds must be at least 1"),
            ("sources: { gh: { provider: github, ack_timeout_ms: 0 } }", "sources.gh.ack_timeout_ms must be positive"),
            ("sources: { gh: { provider: github, rate_limit_per_second: 0 } }", "sources.gh.rate_limit_per_second must be at least 1"),
            ("services: { orders: { max_attempts: 0 } }", "services.orders.max_attempts must be at least 1"),
            ("services: { orders: { trigger_url: \"https://ci.example.com\" } }", "services.orders.trigger_url: only the ci service POSTs build jobs"),
            ("sources: { dlq: { provider: github } }", "sources.dlq: the name is taken: webhooks.dlq.<service> are the consumer services' dead-letter topics"),
            ("services: { orders: { dedup_retention_hours: 99999999999999 } }", "services.orders.dedup_retention_hours must be at most 87600"),
            ("kafka: { session_timeout_ms: 9999999999 }", "kafka.session_timeout_ms must be at most 3600000"),
            ("sources: { gh: { provider: github, success_status: 201 } }", "sources.gh.success_status is 201; it may be 200, 202 or 204"),
            ("sources: { gh: { provider: github, events: [] } }", "sources.gh.events lists the event types with topics of their own"),
            ("monitor: { interval_seconds: 10, window_seconds: 5 }", "monitor.window_seconds must be at least monitor.interval_seconds"),
            ("sources: { gh: { provider: github, secret: [a] } }", "unknown key sources.gh.secret"),
            ("sources: { gh: { provider: github, secrets: [a], key_json_pointer: /sender/login } }", "sources.gh.key_json_pointer: the github provider does not use it (it reads secrets)"),
            ("sources: { st: { provider: stripe, secrets: [a], public_url: \"https://x\" } }", "sources.st.public_url: the stripe provider does not use it (it reads secrets, tolerance_seconds)"),
        ]
    )
    func refusesMistakes(yaml: String, expected: String) {
        #expect {
            try HooklineConfiguration.parse(yaml, origin: "test.yaml")
        } throws: { error in
            let message = (error as? ConfigurationError)?.message ?? ""
            return message.contains(expected) && message.hasPrefix("test.yaml: ")
        }
    }

    @Test("secrets come from the environment, files, or the value itself; a missing one names the reference only")
    func resolvesSecrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-secret-\(UUID().uuidString)")
        try "from-a-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let resolver = SecretResolver(environment: ["GH_SECRET": "from-env", "EMPTY": ""])
        #expect(try resolver.resolve(["${GH_SECRET}", "file:\(file.path)", "literal"], for: "sources.github.secrets") == ["from-env", "from-a-file", "literal"])
        #expect(try resolver.resolve("Bearer ${GH_SECRET}/${GH_SECRET}", for: "x") == "Bearer from-env/from-env")
        // A file written on Windows ends in CRLF; neither byte is part of the secret.
        try "from-windows\r\n\r\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try resolver.resolve("file:\(file.path)", for: "x") == "from-windows")
        // In a list, each non-empty line is a credential (a rotation: the new one, then the old
        // one); a single value is the whole file.
        try "new-secret\r\n\n \t\nold-secret\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try resolver.resolve(["file:\(file.path)", "${GH_SECRET}"], for: "secrets") == ["new-secret", "old-secret", "from-env"])
        #expect(try resolver.resolve("file:\(file.path)", for: "x") == "new-secret\r\n\n \t\nold-secret")
        for blank in ["", "\n\r\n", " \n\t\n"] {
            try blank.write(to: file, atomically: true, encoding: .utf8)
            #expect(throws: ConfigurationError("secrets[0]: the secret file \(file.path) is empty")) {
                try resolver.resolve(["file:\(file.path)"], for: "secrets")
            }
            #expect(throws: ConfigurationError("x: the secret file \(file.path) is empty")) {
                try resolver.resolve("file:\(file.path)", for: "x")
            }
        }

        for (reference, field, message) in [
            ("${NOT_SET}", "sources.github.secrets[0]", "sources.github.secrets[0]: the environment variable NOT_SET is not set"),
            ("prefix-${NOT_SET}", "sources.github.secrets[1]", "sources.github.secrets[1]: the environment variable NOT_SET is not set"),
            ("${EMPTY}", "z", "z: the environment variable EMPTY is empty"),
            ("half${GH_SECRET", "y", "y: a ${ without its closing } (write ${NAME} for the variable NAME)"),
            ("file:/nonexistent/secret", "x", "x: cannot read the secret file /nonexistent/secret"),
        ] {
            #expect {
                try resolver.resolve(reference, for: field)
            } throws: { error in
                (error as? ConfigurationError)?.message == message
            }
        }
    }

    @Test("the shipped deploy/hookline.yaml loads; ${NAME:-default} takes the environment, else the default")
    func shippedConfigurationLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("deploy/hookline.yaml").path
        let local = try HooklineConfiguration.load(path: path, environment: ["KAFKA_BROKERS": "127.0.0.1:9092"])
        #expect(local.kafka.brokers == "127.0.0.1:9092")
        #expect(local.kafka.replicationFactor == -1)
        #expect(Set(local.services.keys).isSuperset(of: ["orders", "payments", "ci"]))
        let cluster = try HooklineConfiguration.load(path: path, environment: ["KAFKA_BROKERS": "kafka-1:9092", "KAFKA_REPLICATION_FACTOR": "3"])
        #expect(cluster.kafka.replicationFactor == 3)
    }

    @Test("variables are expanded in parsed values, once: a value with YAML syntax or ${ in it stays as it is, and a secret waits for its user")
    func variablesInValues() throws {
        let yaml = """
            kafka: { brokers: "${BROKERS:-127.0.0.1:9092}", partitions: "${PARTITIONS:-6}", properties: { "client.id": "${CLIENT:-hookline}" } }
            gateway: { replica_id: "${REPLICA:-r1}-${ZONE:-z}" }
            sources:
              github: { provider: github, secrets: ["${GH_SECRET:-dev}", "${GH_PREVIOUS}"] }
            services:
              orders: { database: "${DATA_DIR}/orders.sqlite", group: "${GROUP:-}", topics: ["^$${literal}", "${NO_TOPIC:-null}"] }
              payments:
                <<: { database: "${DATA_DIR}/payments.sqlite" }
            monitor:
              interval_seconds: ${INTERVAL:-}
            """
        let environment = [
            "DATA_DIR": "/var/lib/hookline", "PARTITIONS": "12", "ZONE": "",
            // A value that would be YAML syntax, or another variable, if it were pasted into the text.
            "REPLICA": "a\", b: [", "CLIENT": "x${GH_SECRET}", "GH_SECRET": "s3cr${BROKERS}t",
        ]
        let configuration = try HooklineConfiguration.parse(yaml, environment: environment)
        #expect(configuration.kafka.partitions == 12)
        #expect(configuration.gateway.replicaID == "a\", b: [-z")
        #expect(configuration.services["orders"]?.database == "/var/lib/hookline/orders.sqlite")
        #expect(configuration.services["orders"]?.group == "")
        #expect(configuration.services["orders"]?.topics == ["^${literal}", "null"])
        #expect(configuration.services["payments"]?.database == "/var/lib/hookline/payments.sqlite")
        #expect(configuration.monitor.intervalSeconds == 5)  // the default
        // Resolved by whoever reads them: loading the file needs no secret of the gateway's.
        #expect(configuration.sources["github"]?.secrets == ["${GH_SECRET:-dev}", "${GH_PREVIOUS}"])
        let resolver = SecretResolver(environment: environment.merging(["GH_PREVIOUS": "old"]) { $1 })
        #expect(try resolver.resolve(configuration.sources["github"]!.secrets, for: "secrets") == ["s3cr${BROKERS}t", "old"])
        #expect(try resolver.resolve(configuration.kafka.properties["client.id"]!, for: "client.id") == "x${GH_SECRET}")
        #expect(try SecretResolver(environment: [:]).resolve("${GH_SECRET:-dev}", for: "secrets[0]") == "dev")
        // A variable may name the file: as the default, or as part of the path.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-secret-\(UUID().uuidString)")
        try "from-a-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let directory = SecretResolver(environment: ["SECRETS": file.deletingLastPathComponent().path])
        #expect(try directory.resolve("${GH_UNSET:-file:\(file.path)}", for: "secrets[0]") == "from-a-file")
        #expect(try directory.resolve("file:${SECRETS}/\(file.lastPathComponent)", for: "secrets[0]") == "from-a-file")

        #expect {
            try HooklineConfiguration.parse(yaml, origin: "h.yaml", environment: ["GH_SECRET": "never-shown"])
        } throws: { error in
            (error as? ConfigurationError)?.message == "h.yaml: services.orders.database: the environment variable DATA_DIR is not set"
        }
        #expect {
            try HooklineConfiguration.parse("kafka: { partitions: ${PARTITIONS:-6} }", origin: "h.yaml")
        } throws: { error in
            (error as? ConfigurationError)?.message.hasSuffix("(inside { } or [ ], quote a value that holds ${…})") == true
        }
        // Checked once resolved, by the producer: a variable is not taken for the value.
        #expect(try HooklineConfiguration.parse("kafka: { properties: { acks: \"${ACKS:-all}\" } }").kafka.properties["acks"] == "${ACKS:-all}")
        #expect {
            try HooklineConfiguration.parse("gateway: { replica_id: \"${OPEN\" }", origin: "h.yaml")
        } throws: { error in
            (error as? ConfigurationError)?.message == "h.yaml: gateway.replica_id: a ${ without its closing } (write ${NAME} for the variable NAME)"
        }
    }

    @Test("kafka.properties values may be ${NAME} or file:PATH, resolved at load; a missing one names the property")
    func resolvesKafkaProperties() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-props-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let password = directory.appendingPathComponent("kafka_password")
        try "from-a-file\n".write(to: password, atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("hookline.yaml").path
        try """
            kafka:
              brokers: "broker:9093"
              properties: { "security.protocol": "SASL_SSL", "sasl.username": "${KAFKA_USER}", "sasl.password": "file:\(password.path)" }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try HooklineConfiguration.load(path: path, environment: ["KAFKA_USER": "hookline"])
        #expect(configuration.kafka.properties == ["security.protocol": "SASL_SSL", "sasl.username": "hookline", "sasl.password": "from-a-file"])
        #expect {
            try HooklineConfiguration.load(path: path, environment: [:])
        } throws: { error in
            (error as? ConfigurationError)?.message == "\(path): kafka.properties.sasl.username: the environment variable KAFKA_USER is not set"
        }
    }

    @Test("listen addresses: a name or IPv4 address, or IPv6 in brackets; a bare IPv6 address, no host or no port is refused")
    func listenAddresses() throws {
        let v4 = try ListenAddress("0.0.0.0:8080")
        #expect((v4.host, v4.port, v4.description) == ("0.0.0.0", 8080, "0.0.0.0:8080"))
        let v6 = try ListenAddress("[::]:8080")
        #expect((v6.host, v6.port, v6.description) == ("::", 8080, "[::]:8080"))
        #expect(try ListenAddress("localhost:0").host == "localhost")
        for (text, message) in [
            ("::1:8080", "write an IPv6 address in brackets, as in [::1]:8080"),
            (":8080", "has no host: 0.0.0.0:8080 is every IPv4 interface, [::]:8080 every interface"),
            ("[]:8080", "has no host"),
            ("0.0.0.0", "is not HOST:PORT"),
            ("0.0.0.0:70000", "is not HOST:PORT"),
        ] {
            #expect {
                try ListenAddress(text)
            } throws: { error in
                (error as? ConfigurationError)?.message.contains(message) == true
            }
        }
    }

    @Test("the default path: $HOOKLINE_CONFIG, else deploy/hookline.yaml when it exists, else none")
    func defaultPath() {
        #expect(HooklineConfiguration.defaultPath(environment: ["HOOKLINE_CONFIG": "/etc/h.yaml"], fileExists: { _ in true }) == "/etc/h.yaml")
        #expect(HooklineConfiguration.defaultPath(environment: [:], fileExists: { $0 == "deploy/hookline.yaml" }) == "deploy/hookline.yaml")
        #expect(HooklineConfiguration.defaultPath(environment: ["HOOKLINE_CONFIG": ""], fileExists: { _ in false }) == nil)
    }
}
