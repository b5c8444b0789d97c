import CRdKafka

/// An error from librdkafka or from Hookline's use of it.
///
/// Carries librdkafka's error code and its human message, plus what Hookline was
/// doing when it happened. `isRetriable` tells a caller whether the same
/// operation may succeed later (a broker that is down, a full queue); `isFatal`
/// that the client handle is unusable and must be recreated.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's error code (`rd_kafka_resp_err_t`), opaque so new codes need no API change.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        init(_ err: rd_kafka_resp_err_t) {
            self.rawValue = err.rawValue
        }

        /// librdkafka's name for the code, such as `_MSG_TIMED_OUT` or `TOPIC_ALREADY_EXISTS`.
        public var name: String {
            String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: self.rawValue)))
        }

        public var description: String { self.name }

        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let purgedQueue = Code(RD_KAFKA_RESP_ERR__PURGE_QUEUE)
        public static let purgedInFlight = Code(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        /// More replicas asked for than brokers the cluster has registered: also what a cluster
        /// answers while its brokers are still joining it.
        public static let invalidReplicationFactor = Code(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR)
        /// The request reached a broker that is not (or no longer) the controller.
        public static let notController = Code(RD_KAFKA_RESP_ERR_NOT_CONTROLLER)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        /// librdkafka's own verdict (`_UNKNOWN_TOPIC`): the cluster's metadata has no such topic.
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        /// librdkafka's own verdict (`_UNKNOWN_PARTITION`): the topic has no such partition.
        public static let unknownPartition = Code(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let invalidConfiguration = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let closed = Code(RD_KAFKA_RESP_ERR__DESTROY)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        /// The task waiting for the operation was cancelled; the operation may still complete.
        public static let interrupted = Code(RD_KAFKA_RESP_ERR__INTR)
        /// A record larger than the producer's `message.max.bytes` or the topic's `max.message.bytes`.
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    }

    public var code: Code
    /// What went wrong, in librdkafka's words where it gave any.
    public var message: String
    /// What Hookline was doing, e.g. "producing to webhooks.github.push".
    public var operation: String
    public var isRetriable: Bool
    public var isFatal: Bool

    public init(code: Code, message: String, operation: String, isRetriable: Bool = false, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.operation = operation
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    /// An error built from a bare librdkafka error code.
    init(_ err: rd_kafka_resp_err_t, operation: String) {
        let code = Code(err)
        self.init(
            code: code,
            message: String(cString: rd_kafka_err2str(err)),
            operation: operation,
            isRetriable: Self.retriableCodes.contains(code),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// An error built from (and consuming) an `rd_kafka_error_t`.
    init(consuming error: OpaquePointer, operation: String) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rd_kafka_error_code(error)),
            message: String(cString: rd_kafka_error_string(error)),
            operation: operation,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    static func configuration(_ message: String) -> KafkaError {
        KafkaError(code: .invalidConfiguration, message: message, operation: "configuring the Kafka client")
    }

    static func closed(_ operation: String) -> KafkaError {
        KafkaError(code: .closed, message: "the Kafka client is shut down", operation: operation)
    }

    private static let retriableCodes: Set<Code> = [
        .messageTimedOut, .timedOut, .queueFull, .transport, .allBrokersDown,
        .purgedQueue, .purgedInFlight, .unknownTopicOrPartition,
    ]

    public var description: String {
        "\(self.operation) failed: \(self.message) (\(self.code.name))"
    }
}
