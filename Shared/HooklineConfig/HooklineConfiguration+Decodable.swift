import Foundation
import HooklineWebhooks

// Each section decodes its snake_case keys with defaults for what is absent, and rejects keys it
// does not know.

extension HooklineConfiguration: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case kafka, gateway, sources, services, monitor
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init(
            kafka: try container.decodeIfPresent(KafkaSection.self, forKey: .kafka) ?? .init(),
            gateway: try container.decodeIfPresent(GatewaySection.self, forKey: .gateway) ?? .init(),
            sources: try container.decodeIfPresent([String: SourceSection].self, forKey: .sources) ?? [:],
            services: try container.decodeIfPresent([String: ServiceSection].self, forKey: .services) ?? [:],
            monitor: try container.decodeIfPresent(MonitorSection.self, forKey: .monitor) ?? .init()
        )
    }
}

extension KafkaSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case brokers, topicPrefix = "topic_prefix", partitions, replicationFactor = "replication_factor"
        case sessionTimeoutMs = "session_timeout_ms", properties, topicConfig = "topic_config"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init()
        try container.assign(&self.brokers, .brokers)
        try container.assign(&self.topicPrefix, .topicPrefix)
        try container.assign(&self.partitions, .partitions)
        try container.assign(&self.replicationFactor, .replicationFactor)
        try container.assign(&self.sessionTimeoutMs, .sessionTimeoutMs)
        try container.assign(&self.properties, .properties)
        try container.assign(&self.topicConfig, .topicConfig)
    }
}

extension GatewaySection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, maxBodyBytes = "max_body_bytes", ackTimeoutMs = "ack_timeout_ms", requestTimeoutMs = "request_timeout_ms"
        case replicaID = "replica_id", shutdownGraceMs = "shutdown_grace_ms", maxConnections = "max_connections"
        case idleTimeoutMs = "idle_timeout_ms"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init()
        try container.assign(&self.listen, .listen)
        try container.assign(&self.maxBodyBytes, .maxBodyBytes)
        try container.assign(&self.ackTimeoutMs, .ackTimeoutMs)
        try container.assign(&self.requestTimeoutMs, .requestTimeoutMs)
        try container.assign(&self.replicaID, .replicaID)
        try container.assign(&self.shutdownGraceMs, .shutdownGraceMs)
        try container.assign(&self.maxConnections, .maxConnections)
        try container.assign(&self.idleTimeoutMs, .idleTimeoutMs)
    }
}

extension SourceSection: Decodable {
    /// The section's own keys; its provider's settings (``ProviderSetting``) sit beside them.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case provider, ackTimeoutMs = "ack_timeout_ms", rateLimitPerSecond = "rate_limit_per_second"
        case events, successStatus = "success_status"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self, alongside: ProviderSetting.self)
        self.init(provider: try container.decode(String.self, forKey: .provider))
        // A setting its provider does not read is a mistake (meant for another provider, or the
        // wrong provider named): refused, not ignored. An unknown provider is refused later.
        if let type = WebhookProviders.provider(named: self.provider) {
            for setting in try decoder.container(keyedBy: ProviderSetting.self).allKeys where !type.settings.contains(setting) {
                let path = (decoder.codingPath.map(\.stringValue) + [setting.rawValue]).joined(separator: ".")
                throw ConfigurationError(
                    "\(path): the \(self.provider) provider does not use it (it reads \(type.settings.map(\.rawValue).sorted().joined(separator: ", ")))"
                )
            }
        }
        self.verification = try ProviderConfiguration(from: decoder)
        try container.assign(&self.ackTimeoutMs, .ackTimeoutMs)
        try container.assign(&self.rateLimitPerSecond, .rateLimitPerSecond)
        try container.assign(&self.events, .events)
        try container.assign(&self.successStatus, .successStatus)
    }
}

extension ServiceSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case group, database, listen, topics, maxAttempts = "max_attempts", dedupRetentionHours = "dedup_retention_hours"
        case batchSize = "batch_size", triggerURL = "trigger_url"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init()
        try container.assign(&self.group, .group)
        try container.assign(&self.database, .database)
        try container.assign(&self.listen, .listen)
        try container.assign(&self.topics, .topics)
        try container.assign(&self.maxAttempts, .maxAttempts)
        try container.assign(&self.dedupRetentionHours, .dedupRetentionHours)
        try container.assign(&self.batchSize, .batchSize)
        try container.assign(&self.triggerURL, .triggerURL)
    }
}

extension MonitorSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, intervalSeconds = "interval_seconds", windowSeconds = "window_seconds", gateways
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init()
        try container.assign(&self.listen, .listen)
        try container.assign(&self.intervalSeconds, .intervalSeconds)
        try container.assign(&self.windowSeconds, .windowSeconds)
        try container.assign(&self.gateways, .gateways)
    }
}

// MARK: - Strict decoding helpers

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// A keyed container that first checks the mapping has no keys besides `Key`'s.
    fileprivate func strictContainer<Key: CodingKey & CaseIterable>(keyedBy: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try self.strictContainer(keyedBy: Key.self, alongside: Key.self)
    }

    /// Like ``strictContainer(keyedBy:)``, where the keys of `Other` are known too (read by
    /// another type from the same decoder).
    fileprivate func strictContainer<Key: CodingKey & CaseIterable, Other: CodingKey & CaseIterable>(
        keyedBy: Key.Type,
        alongside: Other.Type
    ) throws -> KeyedDecodingContainer<Key> {
        let known = Set(Key.allCases.map(\.stringValue) + Other.allCases.map(\.stringValue))
        let present = try self.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = present.first(where: { !known.contains($0) }) {
            let path = (self.codingPath.map(\.stringValue) + [unknown]).joined(separator: ".")
            throw ConfigurationError("unknown key \(path) (known here: \(known.sorted().joined(separator: ", ")))")
        }
        return try self.container(keyedBy: Key.self)
    }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the key's value when the key is present.
    fileprivate func assign<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let decoded = try self.decodeIfPresent(T.self, forKey: key) { value = decoded }
    }

    fileprivate func assign<T: Decodable>(_ value: inout T?, _ key: Key) throws {
        if let decoded = try self.decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}

extension DecodingError {
    /// "sources.github.secrets: expected an array" rather than Foundation's dump.
    var readableDescription: String {
        func path(_ context: Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "(top level)" : path
        }
        if case .dataCorrupted(let context) = self, let underlying = context.underlyingError as? ConfigurationError {
            return underlying.message
        }
        switch self {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(Self.describe(type))"
        case .valueNotFound(let type, let context): return "\(path(context)): missing \(type) value"
        case .keyNotFound(let key, let context): return "\(path(context)): missing required key \(key.stringValue)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }

    /// What a value of `type` looks like in YAML, for "expected …".
    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: "a whole number"
        case is any BinaryFloatingPoint.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default:
            // Yams reports the YAML node it wanted for collections: Sequence or Mapping.
            switch "\(type)" {
            case "Sequence": "a list"
            case "Mapping": "a mapping"
            case let name: name
            }
        }
    }
}
