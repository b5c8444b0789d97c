import CRdKafka
import Foundation
import Logging
import Synchronization

/// Owns one `rd_kafka_t` handle: builds its configuration, forwards librdkafka's
/// logs and errors to a `Logger`, and destroys it exactly once.
///
/// Every unsafe pointer of the bridge that is not about one message kind lives here.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var rawValue: rd_kafka_type_t {
            switch self {
            case .producer: RD_KAFKA_PRODUCER
            case .consumer: RD_KAFKA_CONSUMER
            }
        }
    }

    /// The `rd_kafka_t*`. Valid until ``destroy()``.
    let handle: OpaquePointer
    let logger: Logger
    private let callbacks: Unmanaged<Callbacks>
    private let destroyed = Mutex(false)

    /// What the C callbacks need to reach; passed to librdkafka as the handle's opaque.
    final class Callbacks: @unchecked Sendable {
        let logger: Logger
        /// Set for consumers: called from `rd_kafka_consumer_poll` on the poll thread.
        var rebalance: ((OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?

        init(logger: Logger) {
            self.logger = logger
        }
    }

    /// Makes a handle of `kind` with `properties` and releases it, so librdkafka checks their
    /// names, values and combinations without contacting a broker (it has none to bootstrap from).
    static func validate(kind: Kind, properties: [String: String]) throws(KafkaError) {
        var properties = properties
        properties["bootstrap.servers"] = ""
        let quiet = Logger(label: "hookline.kafka.validate") { _ in SwiftLogNoOpLogHandler() }
        try RDKafkaClient(kind: kind, properties: properties, logger: quiet).destroyInBackground()
    }

    /// Creates the handle.
    /// - Parameter configure: a chance to set C callbacks on the configuration before the handle exists.
    init(
        kind: Kind,
        properties: [String: String],
        logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = try Self.configuration(properties)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorBuffer.deallocate() }

        let callbacks = Unmanaged.passRetained(Callbacks(logger: logger))
        rd_kafka_conf_set_opaque(conf, callbacks.toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdkafkaLog)
        rd_kafka_conf_set_error_cb(conf, rdkafkaError)
        configure(conf)

        // On success rd_kafka_new takes the configuration; on failure it stays ours.
        guard let handle = rd_kafka_new(kind.rawValue, conf, errorBuffer, 512) else {
            rd_kafka_conf_destroy(conf)
            callbacks.release()
            throw .configuration(String(cString: errorBuffer))
        }
        self.handle = handle
        self.logger = logger
        self.callbacks = callbacks
    }

    /// A librdkafka configuration with `properties` set, in order of their names.
    private static func configuration(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorBuffer.deallocate() }
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, errorBuffer, 512) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .configuration("\(key): \(String(cString: errorBuffer))")
            }
        }
        return conf
    }

    /// What librdkafka holds for each of `names` once `properties` are set: after its aliases
    /// (`request.required.acks` for `acks`) and `topic.` prefixes, which a look at the names
    /// alone misses. A topic-level name is read from the default topic configuration.
    static func effectiveValues(of names: [String], properties: [String: String]) throws(KafkaError) -> [String: String] {
        let conf = try Self.configuration(properties)
        defer { rd_kafka_conf_destroy(conf) }
        var values: [String: String] = [:]
        var buffer = [CChar](repeating: 0, count: 256)
        for name in names {
            var size = buffer.count
            guard rd_kafka_conf_get(conf, name, &buffer, &size) == RD_KAFKA_CONF_OK else { continue }
            values[name] = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
        return values
    }

    var callbackState: Callbacks { self.callbacks.takeUnretainedValue() }

    /// Destroys the handle. Safe to call more than once; only the first call acts.
    ///
    /// It can block for a second (librdkafka waits for its broker threads), so async code calls it
    /// through ``blocking(_:)`` and a `deinit` through ``destroyInBackground(after:)``.
    func destroy() {
        let first = self.destroyed.withLock { destroyed in
            defer { destroyed = true }
            return !destroyed
        }
        guard first else { return }
        rd_kafka_destroy(self.handle)
        self.callbacks.release()
    }

    deinit {
        self.destroy()
    }

    /// Runs `work` (stopping a poll thread, say), then destroys the handle, on a thread of its own,
    /// and returns at once: for a `deinit`, which may run on any thread and cannot wait.
    func destroyInBackground(after work: @escaping @Sendable () -> Void = {}) {
        guard !self.destroyed.withLock({ $0 }) else { return }
        startThread(named: "kafka-destroy") {
            work()
            self.destroy()
        }
    }

    /// Runs blocking librdkafka work on a thread of its own and awaits its result.
    ///
    /// Not on Swift's cooperative pool, which has one thread per core, and not on Dispatch's global
    /// queues either: on Linux they share those threads, so a few admin requests waiting out a slow
    /// broker would stall every task of the process (measured: four blocked items on
    /// `DispatchQueue.global()` held back a new task for their whole two seconds, on two cores).
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            startThread(named: "kafka-wait") {
                continuation.resume(returning: work())
            }
        }
    }
}

// MARK: - Callbacks from librdkafka's threads

private func callbacks(of handle: OpaquePointer?) -> RDKafkaClient.Callbacks? {
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
    return Unmanaged<RDKafkaClient.Callbacks>.fromOpaque(opaque).takeUnretainedValue()
}

private let rdkafkaLog: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let logger = callbacks(of: handle)?.logger else { return }
    let swiftLevel: Logger.Level =
        switch level {
        case 0...2: .error
        // librdkafka reports connection failures at level 3; it retries them by itself.
        case 3, 4: .warning
        case 5, 6: .info
        default: .debug
        }
    logger.log(
        level: swiftLevel,
        "\(message.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
    )
}

private let rdkafkaError: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, err, reason, _ in
    guard let logger = callbacks(of: handle)?.logger else { return }
    // Transport errors repeat while a broker is down; librdkafka retries by itself.
    let code = KafkaError.Code(rawValue: err)
    logger.log(
        level: code == .transport || code == .allBrokersDown ? .debug : .warning,
        "librdkafka: \(reason.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.error": "\(code.name)"]
    )
}

// MARK: - Topic partition lists

extension RDKafkaClient {
    /// A new `rd_kafka_topic_partition_list_t` holding `entries`; the caller destroys it.
    static func makePartitionList(_ entries: [(TopicPartition, Int64)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(entries.count))!
        for (topicPartition, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)!
            element.pointee.offset = offset
        }
        return list
    }

    /// The entries of a list, with each entry's offset and error.
    static func entries(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>
    ) -> [(topicPartition: TopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return (
                TopicPartition(topic: String(cString: element.topic), partition: element.partition),
                element.offset,
                element.err
            )
        }
    }
}
