import Foundation

/// What the monitor serves at `/api/status` and `hookline lag --json` prints: every group and
/// topic, judged. Made by ``LagTracker``.
public struct LagReport: Sendable, Hashable, Codable {
    public var takenAt: Date
    public var windowSeconds: Double
    /// `read_committed`: see ``LagReader``.
    public var isolationLevel: String
    public var groups: [Group]
    public var topics: [Topic]

    public struct Group: Sendable, Hashable, Codable {
        public var group: String
        public var state: String
        public var members: Int
        public var status: LagStatus
        /// The status as `hookline_consumergroup_status` encodes it.
        public var statusCode: Int
        /// The sum over partitions with a commit; nil when the group has no commit at all.
        public var lag: Int64?
        /// The largest partition time lag.
        public var lagSeconds: Double?
        public var partitions: [Partition]
        /// Total lag over the last minutes, for charts.
        public var history: [Point]
    }

    public struct Partition: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        /// Nil: "no commit".
        public var committed: Int64?
        public var end: Int64
        /// End minus committed, floored at zero; nil without a commit.
        public var lag: Int64?
        public var lagSeconds: Double?
        /// The time lag is a lower bound: the first unconsumed record is older than the history.
        public var lagSecondsIsLowerBound: Bool
        public var status: LagStatus
    }

    public struct Topic: Sendable, Hashable, Codable {
        public var topic: String
        public var partitions: [TopicPartitionEnd]
        /// Records per second over the last two samples; nil after only one.
        public var messagesPerSecond: Double?
        /// The sum of end offsets over the last minutes, for charts.
        public var history: [Point]
    }

    public struct TopicPartitionEnd: Sendable, Hashable, Codable {
        public var partition: Int32
        public var end: Int64
        public var messagesPerSecond: Double?
    }

    public struct Point: Sendable, Hashable, Codable {
        /// Unix seconds.
        public var t: Double
        public var v: Int64
    }

    /// The encoder for this report: dates as Unix seconds, keys sorted.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
