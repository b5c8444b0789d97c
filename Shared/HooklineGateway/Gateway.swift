import Foundation
import HTTPTypes
import HooklineConfig
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import Logging
import NIOCore

/// The gateway's request handling: verify over the raw bytes, publish to the event's topic,
/// answer only after the broker's acknowledgement.
final class Gateway: Sendable {
    let sources: [String: GatewaySource]
    let publisher: WebhookPublisher
    let metrics: GatewayMetrics
    let readiness: Readiness
    let maxBodyBytes: Int

    init(sources: [String: GatewaySource], publisher: WebhookPublisher, metrics: GatewayMetrics, readiness: Readiness, maxBodyBytes: Int) {
        self.sources = sources
        self.publisher = publisher
        self.metrics = metrics
        self.readiness = readiness
        self.maxBodyBytes = maxBodyBytes
    }

    /// `POST /webhooks/{source}`.
    func receive(_ request: Request, context: some RequestContext) async -> Response {
        let name = context.parameters.get("source") ?? ""
        guard let source = self.sources[name] else {
            self.metrics.request(source: "-", status: 404)
            return .jsonError(.notFound, code: "unknown_source", message: "No webhook source is configured at this path.")
        }
        let response = await self.receive(request, source: source, context: context)
        self.metrics.request(source: name, status: response.status.code)
        return response
    }

    private func receive(_ request: Request, source: GatewaySource, context: some RequestContext) async -> Response {
        // The ack timeout counts from here: the provider's own timeout runs while the body arrives.
        let arrival = ContinuousClock.now
        if let limiter = source.rateLimiter, !limiter.tryAcquire() {
            var response = Response.jsonError(.tooManyRequests, code: "rate_limited", message: "This source is over its rate limit; retry later.")
            response.headers[.retryAfter] = "1"
            return response
        }
        // Refuse an announced oversize body before reading any of it; a body that grows past the
        // limit while streaming is refused as soon as it does.
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.maxBodyBytes {
            return .payloadTooLarge(self.maxBodyBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: self.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return .payloadTooLarge(self.maxBodyBytes)
        } catch {
            return .jsonError(.badRequest, code: "unreadable_body", message: "The request body could not be read.")
        }
        let receivedAt = ReceivedAt.now()
        let webhookRequest = WebhookRequest(
            headerFields: request.headers,
            body: Array(buffer.readableBytesView),
            url: source.publicURL.map { url in request.uri.query.map { "\(url)?\($0)" } ?? url },
            now: receivedAt.unixSeconds
        )

        let webhook: VerifiedWebhook
        do {
            webhook = try source.verifier.verify(webhookRequest)
        } catch {
            self.metrics.verificationFailure(source: source.name, reason: error.reason.code)
            context.logger.info(
                "webhook refused",
                metadata: ["hookline.source": "\(source.name)", "hookline.reason": "\(error.reason.code)"]
            )
            return .jsonError(error.status, code: error.reason.code, message: error.message)
        }
        guard webhook.publish else {
            return Response(reply: webhook.reply ?? .noContent)
        }

        let topic = WebhookTopic.name(prefix: self.publisher.topicPrefix, source: source.name, event: webhook.event)
        let start = ContinuousClock.now
        let report: KafkaDeliveryReport
        do {
            report = try await self.publisher.publish(
                webhook,
                topic: topic,
                body: webhookRequest.body,
                source: source,
                request: webhookRequest,
                receivedAt: receivedAt,
                arrival: arrival
            )
        } catch {
            context.logger.warning(
                "webhook not acknowledged by the broker; answering 503",
                metadata: ["hookline.source": "\(source.name)", "kafka.topic": "\(topic)", "kafka.error": "\(error)"]
            )
            var response = Response.jsonError(
                .serviceUnavailable,
                code: "broker_unavailable",
                message: "The event could not be stored; nothing was acknowledged. Retry later."
            )
            response.headers[.retryAfter] = "5"
            return response
        }
        self.metrics.ackLatency(source: source.name, start.duration(to: .now))
        self.metrics.published(topic: topic)
        if let reply = webhook.reply {
            return Response(reply: reply)
        }
        return .accepted(id: webhook.id, report: report)
    }
}

// MARK: - Responses

extension Response {
    /// The one error shape every gateway error has: `{"error": code, "message": text}`.
    static func jsonError(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        var body = #"{"error":"#
        appendJSONString(code, to: &body)
        body += #","message":"#
        appendJSONString(message, to: &body)
        body += "}"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func payloadTooLarge(_ limit: Int) -> Response {
        .jsonError(.contentTooLarge, code: "body_too_large", message: "The body is larger than the \(limit) bytes this gateway accepts.")
    }

    /// 202 `{"id","topic","partition","offset"}`.
    static func accepted(id: String, report: KafkaDeliveryReport) -> Response {
        var body = #"{"id":"#
        body.reserveCapacity(64 + id.utf8.count + report.topic.utf8.count)
        appendJSONString(id, to: &body)
        body += #","topic":"#
        appendJSONString(report.topic, to: &body)
        body += #","partition":\#(report.partition),"offset":\#(report.offset)}"#
        return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    init(reply: WebhookReply) {
        var headers = HTTPFields()
        if let contentType = reply.contentType { headers[.contentType] = contentType }
        self.init(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
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
