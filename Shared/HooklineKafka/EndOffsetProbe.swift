import CRdKafka
import Logging

/// Reads the true end of partitions whose ListOffsets answer may be short, from a fetch.
///
/// The embedded broker (Tansu 0.6) answers ListOffsets "latest" with the first offset of the
/// batch it stored last, + 1: after a burst written in batches, an end far below the real one
/// (`tansu-storage`'s `dynostore.rs`, `list_offsets`). Its fetch responses carry the true high
/// watermark. It also dates that answer (the batch's storage time), where Apache Kafka answers
/// "latest" with no timestamp (-1); so a dated "latest" is what ``KafkaAdmin`` checks here, and
/// against Kafka this never runs.
///
/// The probe is a consumer of its own, assigned to each partition at its listed end: a fetch
/// there returns (next to nothing and) the partition's high watermark, which librdkafka keeps as
/// the partition's cached end (`rd_kafka_get_watermark_offsets`). That is the high watermark at
/// either isolation level: the last stable offset, which `read_committed` asks for, is below it
/// only while a transaction is open, and Hookline's producers use none.
struct EndOffsetProbe: Sendable {
    /// The consumer's librdkafka properties, from the admin's cluster settings.
    let properties: [String: String]
    /// How long to wait for every partition's first fetch response.
    let timeout: Duration
    let logger: Logger

    init(kafka: KafkaConfiguration, timeout: Duration, logger: Logger) {
        var properties = KafkaConsumerConfiguration(kafka: kafka, groupID: "hookline-end-probe").librdkafkaProperties
        // A fetch at the end waits for records up to fetch.wait.max.ms (500 ms by default);
        // only its watermark is wanted, and records past the listed end are dropped unread.
        properties["fetch.wait.max.ms"] = "10"
        properties["max.partition.fetch.bytes"] = "1024"
        properties["queued.max.messages.kbytes"] = "64"
        self.properties = properties
        self.timeout = timeout
        self.logger = logger
    }

    /// The end of each of `listed`'s partitions as a fetch finds it, never below the listed one.
    /// A partition that gave no fetch response within ``timeout`` keeps its listed end.
    func ends(
        _ listed: [TopicPartition: Int64],
        isolationLevel: KafkaIsolationLevel,
        cancelled: CancellationFlag
    ) async -> [TopicPartition: Int64] {
        guard !listed.isEmpty else { return listed }
        var properties = self.properties
        properties["isolation.level"] = isolationLevel.librdkafkaValue
        let client: RDKafkaClient
        do {
            client = try RDKafkaClient(kind: .consumer, properties: properties, logger: self.logger)
        } catch {
            self.logger.warning("cannot check the end offsets the broker listed", metadata: ["kafka.error": "\(error)"])
            return listed
        }
        let deadline = ContinuousClock.now + self.timeout
        return await RDKafkaClient.blocking {
            // Destroying a consumer can take a while (it waits for its broker threads): not
            // the caller's wait.
            defer { client.destroyInBackground() }
            let handle = client.handle
            let list = RDKafkaClient.makePartitionList(listed.map { ($0.key, max($0.value, 0)) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            guard rd_kafka_assign(handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return listed }
            var ends = listed
            var waiting = Set(listed.keys)
            while !waiting.isEmpty, ContinuousClock.now < deadline, !cancelled.isSet {
                if let message = rd_kafka_consumer_poll(handle, 10) { rd_kafka_message_destroy(message) }
                for partition in waiting {
                    var low: Int64 = -1
                    var high: Int64 = -1
                    guard rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                        high >= 0
                    else { continue }
                    ends[partition] = max(high, listed[partition] ?? 0)
                    waiting.remove(partition)
                }
            }
            if !waiting.isEmpty {
                self.logger.debug("no fetch answered for these partitions: their listed ends kept", metadata: ["kafka.partitions": "\(waiting.map(\.description).sorted())"])
            }
            return ends
        }
    }
}
