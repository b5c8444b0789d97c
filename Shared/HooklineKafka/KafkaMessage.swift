/// A Kafka record header. Values may be absent (null), as Kafka allows.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }

    /// The value as UTF-8 text, or nil when absent.
    public var stringValue: String? {
        self.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

extension [KafkaHeader] {
    /// The first header with this key.
    public func first(_ key: String) -> KafkaHeader? {
        self.first { $0.key == key }
    }
}

/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(self.topic)[\(self.partition)]" }
}

/// Where the broker wrote a produced message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// A consumed record, copied out of librdkafka (the C message is already destroyed).
public struct KafkaConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the Unix epoch, when the broker or producer set one.
    public var timestamp: Int64?

    public var topicPartition: TopicPartition {
        TopicPartition(topic: self.topic, partition: self.partition)
    }
}

/// Where a newly assigned partition starts reading.
public enum KafkaStartOffset: Sendable, Hashable {
    /// This exact offset: the next record to read.
    case offset(Int64)
    /// The group's committed offset, else `auto.offset.reset`.
    case committed
    /// The first record still in the log.
    case beginning
    /// Only records written from now on.
    case end
}

extension KafkaStartOffset: CustomStringConvertible {
    public var description: String {
        switch self {
        case .offset(let offset): "offset \(offset)"
        case .committed: "committed"
        case .beginning: "beginning"
        case .end: "end"
        }
    }
}
