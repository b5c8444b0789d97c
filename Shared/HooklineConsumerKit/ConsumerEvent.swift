import Foundation
import HooklineKafka
import HooklineWebhooks

/// One webhook event as a handler sees it: the CloudEvents attributes the gateway put in the
/// record's headers, the provider's raw JSON body, and where the record sits in Kafka.
package struct ConsumerEvent: Sendable {
    /// `ce_id`: the provider's event id; with ``source``, the deduplication key.
    package var id: String
    /// `ce_type`: `<provider>.<event>`, such as `shopify.orders.create`; selects the handler.
    package var type: String
    /// `ce_source` (`/webhooks/<source>`), when present.
    package var source: String?
    /// The name of the gateway's source the event came through (`shop` for `/webhooks/shop`),
    /// when ``source`` names one; else the provider, from ``type``.
    package var sourceName: String {
        self.source.flatMap(WebhookTopic.source(ofCESource:)) ?? String(self.type.prefix { $0 != "." })
    }
    /// `ce_time` as the gateway wrote it (RFC 3339), when present.
    package var time: String?
    /// The provider's payload, byte for byte.
    package var body: [UInt8]
    /// Every header of the record, CloudEvents ones included.
    package var headers: [KafkaHeader]
    package var topic: String
    package var partition: Int32
    package var offset: Int64

    package init(
        id: String,
        type: String,
        source: String? = nil,
        time: String? = nil,
        body: [UInt8],
        headers: [KafkaHeader] = [],
        topic: String,
        partition: Int32,
        offset: Int64
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.time = time
        self.body = body
        self.headers = headers
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// Reads the CloudEvents headers of a consumed record.
    /// - Throws: a permanent ``ConsumerError`` when `ce_id` or `ce_type` is missing or empty.
    package init(_ message: KafkaConsumerMessage) throws(ConsumerError) {
        guard let id = message.headers.first("ce_id")?.stringValue, !id.isEmpty else {
            throw .permanent("the record has no ce_id header")
        }
        guard let type = message.headers.first("ce_type")?.stringValue, !type.isEmpty else {
            throw .permanent("the record has no ce_type header")
        }
        self.init(
            id: id,
            type: type,
            source: message.headers.first("ce_source")?.stringValue,
            time: message.headers.first("ce_time")?.stringValue,
            body: message.value,
            headers: message.headers,
            topic: message.topic,
            partition: message.partition,
            offset: message.offset
        )
    }

    package var topicPartition: TopicPartition {
        TopicPartition(topic: self.topic, partition: self.partition)
    }

    /// The default decoder: one for every event, not one per event.
    package static let decoder = JSONDecoder()

    /// Decodes the body as JSON.
    /// - Throws: a permanent ``ConsumerError`` (the payload will not decode on a retry either).
    package func json<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = ConsumerEvent.decoder) throws(ConsumerError) -> T {
        do {
            return try decoder.decode(T.self, from: Data(self.body))
        } catch {
            throw .permanent("the \(self.type) payload does not decode as \(T.self)", cause: error)
        }
    }

    /// One value of the JSON body, found by `pointer` without decoding the rest: strings as
    /// they are, numbers as written; `nil` when absent, `null`, an object or an array.
    /// Cheaper than ``json(_:decoder:)`` when a handler needs a few fields of a large payload.
    package func text(at pointer: JSONPointer) -> String? {
        JSONScanner.value(at: pointer, in: self.body)?.text
    }

    /// Like ``text(at:)``, for a field the event cannot do without.
    /// - Throws: a permanent ``ConsumerError`` when it is missing (a retry will not bring it).
    package func requiredText(at pointer: JSONPointer) throws(ConsumerError) -> String {
        guard let value = self.text(at: pointer), !value.isEmpty else {
            // Only now, on the way to a dead letter, is the whole body looked at: the reason an
            // operator reads should name the fault, and a body that is not JSON has no fields.
            guard JSONScanner.isWellFormed(self.body) else { throw .permanent("the \(self.type) payload is not valid JSON") }
            throw .permanent("the \(self.type) payload has no \(pointer)")
        }
        return value
    }

    /// An integral number of the JSON body, found by `pointer`; `nil` when absent or not one.
    package func integer(at pointer: JSONPointer) -> Int64? {
        JSONScanner.value(at: pointer, in: self.body)?.integer
    }
}
