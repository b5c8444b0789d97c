import HTTPTypes
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import NIOCore

/// A complete answer to a webhook request, body included, so either way a request comes in
/// (the event-loop handler or the router) can write it.
public struct GatewayReply: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: ByteBuffer

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The one error shape every gateway error has: `{"error": code, "message": text}`.
    static func jsonError(_ status: HTTPResponse.Status, code: String, message: String, retryAfter: String? = nil) -> GatewayReply {
        var body = #"{"error":"#
        appendJSONString(code, to: &body)
        body += #","message":"#
        appendJSONString(message, to: &body)
        body += "}"
        var reply = GatewayReply(status: status, headerFields: [.contentType: "application/json"], body: ByteBuffer(string: body))
        if let retryAfter { reply.headerFields[.retryAfter] = retryAfter }
        return reply
    }

    static let unknownSource = GatewayReply.jsonError(.notFound, code: "unknown_source", message: "No webhook source is configured at this path.")

    static func payloadTooLarge(_ limit: Int) -> GatewayReply {
        .jsonError(.contentTooLarge, code: "body_too_large", message: "The body is larger than the \(limit) bytes this gateway accepts.")
    }

    /// 202 `{"id","topic","partition","offset"}`.
    static func accepted(id: String, report: KafkaDeliveryReport) -> GatewayReply {
        var body = #"{"id":"#
        body.reserveCapacity(64 + id.utf8.count + report.topic.utf8.count)
        appendJSONString(id, to: &body)
        body += #","topic":"#
        appendJSONString(report.topic, to: &body)
        body += #","partition":\#(report.partition),"offset":\#(report.offset)}"#
        return GatewayReply(status: .accepted, headerFields: [.contentType: "application/json"], body: ByteBuffer(string: body))
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

    static func jsonError(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        Response(GatewayReply.jsonError(status, code: code, message: message))
    }
}

/// Appends `value` as a JSON string literal.
func appendJSONString(_ value: String, to output: inout String) {
    output += "\""
    defer { output += "\"" }
    // Ids and topic names need no escaping: one append instead of one per character.
    guard value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
        output += value
        return
    }
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\\": output += "\\\\"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        case "\t": output += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: output.unicodeScalars.append(scalar)
        }
    }
}
