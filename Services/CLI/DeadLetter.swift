import Foundation
import HooklineConsumerKit
import HooklineKafka

/// One record of a dead-letter topic `<prefix>.dlq.<service>`, read with the headers
/// ``DeadLetterWriter`` adds to the original record.
struct DeadLetter {
    let record: KafkaConsumerMessage

    /// The headers ``DeadLetterWriter`` adds; everything else came with the original record.
    static let addedHeaders: Set<String> = [
        DeadLetterWriter.reasonHeader,
        DeadLetterWriter.sourceTopicHeader,
        DeadLetterWriter.sourcePartitionHeader,
        DeadLetterWriter.sourceOffsetHeader,
        DeadLetterWriter.attemptsHeader,
        DeadLetterWriter.payloadOmittedHeader,
    ]

    var partition: Int32 { self.record.partition }
    var offset: Int64 { self.record.offset }
    var reason: String? { self.record.headers.first(DeadLetterWriter.reasonHeader)?.stringValue }
    var originalTopic: String? { self.record.headers.first(DeadLetterWriter.sourceTopicHeader)?.stringValue }
    var originalPartition: Int32? { self.record.headers.first(DeadLetterWriter.sourcePartitionHeader)?.stringValue.flatMap { Int32($0) } }
    var originalOffset: Int64? { self.record.headers.first(DeadLetterWriter.sourceOffsetHeader)?.stringValue.flatMap { Int64($0) } }
    var attempts: Int? { self.record.headers.first(DeadLetterWriter.attemptsHeader)?.stringValue.flatMap { Int($0) } }
    /// Why the letter has no payload and where the original is, when the writer left the payload
    /// out (too large for a dead letter); nil when the letter carries it.
    var payloadOmitted: String? { self.record.headers.first(DeadLetterWriter.payloadOmittedHeader)?.stringValue }
    /// The CloudEvents id the gateway gave the event.
    var eventID: String? { self.record.headers.first("ce_id")?.stringValue }
    var eventType: String? { self.record.headers.first("ce_type")?.stringValue }
    /// When it was dead-lettered, Unix milliseconds.
    var timestamp: Int64? { self.record.timestamp }

    /// The original record's headers, in their order.
    var originalHeaders: [KafkaHeader] {
        self.record.headers.filter { !Self.addedHeaders.contains($0.key) }
    }

    /// "topic[partition]@offset" of the original record.
    var origin: String {
        guard let topic = self.originalTopic else { return "?" }
        return "\(topic)[\(self.originalPartition.map(String.init) ?? "?")]@\(self.originalOffset.map(String.init) ?? "?")"
    }

    /// The summary `dlq list --json` prints.
    func summary(redriven: Bool) -> [String: Any] {
        [
            "partition": Int(self.partition),
            "offset": self.offset,
            "time": JSONOutput.orNull(self.timestamp.map { JSONOutput.iso8601(milliseconds: $0) }),
            "original_topic": JSONOutput.orNull(self.originalTopic),
            "original_partition": JSONOutput.orNull(self.originalPartition.map { Int($0) }),
            "original_offset": JSONOutput.orNull(self.originalOffset),
            "reason": JSONOutput.orNull(self.reason),
            "attempts": JSONOutput.orNull(self.attempts),
            "event_id": JSONOutput.orNull(self.eventID),
            "event_type": JSONOutput.orNull(self.eventType),
            "payload_omitted": JSONOutput.orNull(self.payloadOmitted),
            "redriven": redriven,
        ]
    }
}
