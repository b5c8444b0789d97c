import HTTPTypes
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import NIOCore

/// A complete answer to a webhook request, body included, so either way a request comes in
/// (the event-loop handler or the router) can write it.
package struct GatewayReply: Sendable {
    package var status: HTTPResponse.Status
    package var headerFields: HTTPFields
    package var body: ByteBuffer

    package init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The one error shape every gateway error has: `{"error": code, "message": text}`.
    static func jsonError(_ status: HTTPResponse.Status, code: String, message: String, retryAfter: String? = nil) -> GatewayReply {
        let body = #"{"error":"# + JSONText.quote(code) + #","message":"# + JSONText.quote(message) + "}"
        var reply = GatewayReply(status: status, headerFields: Self.jsonHeaders, body: ByteBuffer(string: body))
        if let retryAfter { reply.headerFields[.retryAfter] = retryAfter }
        return reply
    }

    static let unknownSource = GatewayReply.jsonError(.notFound, code: "unknown_source", message: "No webhook source is configured at this path.")

    static func payloadTooLarge(_ limit: Int) -> GatewayReply {
        .jsonError(.contentTooLarge, code: "body_too_large", message: "The body is larger than the \(limit) bytes this gateway accepts.")
    }

    /// `Content-Type: application/json`, built once: each reply's copy shares its storage until
    /// the reply's own fields are added.
    private static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    /// 202 (or the source's `success_status`) `{"id","topic","partition","offset"}`, written
    /// straight into the body's buffer: about half the instructions of a `String` built by
    /// interpolation and then copied into a buffer (5,300–5,400 against 9,800 a request under
    /// callgrind; docs/benchmarks.md). 204 has no body.
    static func accepted(id: String, report: KafkaDeliveryReport, status: HTTPResponse.Status = .accepted) -> GatewayReply {
        if status == .noContent { return GatewayReply(status: .noContent) }
        var body = ByteBufferAllocator().buffer(capacity: 64 + id.utf8.count + report.topic.utf8.count)
        body.writeStaticString(#"{"id":"#)
        body.writeJSONString(id)
        body.writeStaticString(#","topic":"#)
        body.writeJSONString(report.topic)
        body.writeStaticString(#","partition":"#)
        body.writeString(String(report.partition))
        body.writeStaticString(#","offset":"#)
        body.writeString(String(report.offset))
        body.writeStaticString("}")
        return GatewayReply(status: status, headerFields: Self.jsonHeaders, body: body)
    }

    /// A provider's own reply (a Slack challenge, Discord's PONG, Twilio's empty TwiML).
    init(_ reply: WebhookReply) {
        var headers = HTTPFields()
        if let contentType = reply.contentType { headers[.contentType] = contentType }
        self.init(status: reply.status, headerFields: headers, body: ByteBuffer(bytes: reply.body))
    }
}

extension Response {
    init(_ reply: GatewayReply) {
        self.init(status: reply.status, headers: reply.headerFields, body: .init(byteBuffer: reply.body))
    }
}

extension ByteBuffer {
    /// Writes `value` as a JSON string literal.
    fileprivate mutating func writeJSONString(_ value: String) {
        // Ids and topic names need no escaping: one write instead of one a byte.
        guard JSONText.needsEscaping(value) else {
            self.writeInteger(UInt8(ascii: "\""))
            self.writeString(value)
            self.writeInteger(UInt8(ascii: "\""))
            return
        }
        self.writeString(JSONText.quote(value))
    }
}
