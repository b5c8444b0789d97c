import HTTPTypes
import HooklineConfig
import HooklineHTTP
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The gateway's request handling: verify over the raw bytes, publish to the event's topic,
/// answer only after the broker's acknowledgement.
///
/// A request reaches ``handle(_:source:logger:reply:)`` one of two ways, both ending there:
/// - ``WebhookChannelHandler``, on the connection's event loop, for a `POST /webhooks/<source>`
///   of a configured source (the usual case: no Swift task, the answer written from the
///   delivery report);
/// - the router's `POST /webhooks/:source` route (``receive(_:context:)``), for what the handler
///   leaves to it: an unknown source, an announced oversize body, expectations other than
///   `100-continue`, and requests pipelined behind another route's.
final class Gateway: Sendable {
    let sources: SourceTable
    let publisher: WebhookPublisher
    let metrics: GatewayMetrics
    let readiness: Readiness
    let maxBodyBytes: Int
    let logger: Logger
    /// Refusals and 503s are logged a few a second per source at most.
    let logThrottle: LogThrottle
    /// Deliveries to public-key sources handed to the cooperative pool for their Ed25519 checks
    /// and not yet through them, and how many may be. Anyone can send a delivery listing ten
    /// signatures, each checked against each key (about 75 µs a check, plus hashing the body);
    /// unbounded, they would queue on the pool that also answers `/readyz`, until a load
    /// balancer's probes timed out and took every replica out of rotation. Past the bound a
    /// delivery is answered 503 with `Retry-After` at once.
    let publicKeyChecks = Atomic<Int>(0)
    let maxPublicKeyChecks: Int

    /// The default bound: 32 deliveries a core, more than the connections a sender keeps busy. With
    /// one key and ten forged signatures each, that queues some 25 ms of checks a core for small
    /// bodies, and a few hundred for megabytes (each check hashes the body again).
    static let defaultMaxPublicKeyChecks = 32 * System.coreCount

    init(
        sources: [String: GatewaySource],
        publisher: WebhookPublisher,
        metrics: GatewayMetrics,
        readiness: Readiness,
        maxBodyBytes: Int,
        logger: Logger,
        logThrottle: LogThrottle = LogThrottle(),
        maxPublicKeyChecks: Int = Gateway.defaultMaxPublicKeyChecks
    ) {
        self.sources = SourceTable(sources)
        self.publisher = publisher
        self.metrics = metrics
        self.readiness = readiness
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.logThrottle = logThrottle
        self.maxPublicKeyChecks = maxPublicKeyChecks
    }

    /// Logs one line of `kind` for `source` unless the throttle holds it back (``LogThrottle/log``).
    func log(_ kind: LogThrottle.Kind, source: String, level: Logger.Level, _ message: Logger.Message, metadata: @autoclosure () -> Logger.Metadata, logger: Logger) {
        self.logThrottle.log(kind, source: source, level: level, message, metadata: metadata(), logger: logger)
    }

    /// A delivery to a public-key source while ``maxPublicKeyChecks`` are being verified: 503,
    /// sent again later by a provider, and counted and logged as a refusal of the broker's is.
    func refuseOverload(source: GatewaySource) -> GatewayReply {
        self.metrics.request(source: source.name, status: 503)
        self.log(
            .unacknowledged,
            source: source.name,
            level: .warning,
            "too many deliveries awaiting their signature checks; answering 503",
            metadata: ["hookline.source": "\(source.name)", "hookline.checks_in_flight": "\(self.maxPublicKeyChecks)"],
            logger: self.logger
        )
        return .jsonError(
            .serviceUnavailable,
            code: "overloaded",
            message: "Too many deliveries are awaiting their signature checks; nothing was stored. Retry later.",
            retryAfter: "1"
        )
    }

    /// Counts a request for a source that is not configured (any more) and says so.
    private func refuseUnknownSource() -> GatewayReply {
        self.metrics.request(source: "-", status: 404)
        return .unknownSource
    }

    /// `/webhooks/{source}` with a method other than POST: 405, counted under the source when it
    /// is configured (else under `-`, as an unknown source is).
    func refuseMethod(source name: Substring) -> Response {
        let name = String(name)
        self.metrics.request(source: self.sources[name] == nil ? "-" : name, status: 405)
        var response = Response.jsonError(.methodNotAllowed, code: "method_not_allowed", message: "Webhooks are delivered with POST.")
        response.headers[.allow] = "POST"
        return response
    }

    /// `POST /webhooks/{source}` through the router.
    func receive(_ request: Request, context: some RequestContext) async -> Response {
        // The ack timeout counts from here: the provider's own timeout runs while the body arrives.
        let arrival = ContinuousClock.now
        let name = context.parameters.get("source") ?? ""
        guard let source = self.sources[name] else {
            return Response(self.refuseUnknownSource())
        }
        // Refuse an announced oversize body before reading any of it; a body that grows past the
        // limit while streaming is refused as soon as it does.
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.maxBodyBytes {
            self.metrics.request(source: name, status: 413)
            return Response(GatewayReply.payloadTooLarge(self.maxBodyBytes))
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: self.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            self.metrics.request(source: name, status: 413)
            return Response(GatewayReply.payloadTooLarge(self.maxBodyBytes))
        } catch {
            self.metrics.request(source: name, status: 400)
            return .jsonError(.badRequest, code: "unreadable_body", message: "The request body could not be read.")
        }
        let incoming = IncomingWebhook(headerFields: request.headers, query: request.uri.query, body: body, arrival: arrival)
        // Already on the cooperative pool: a public-key source's checks run here, within the same
        // bound as the event loop's (an `Expect` other than `100-continue` leads here).
        let bounded = source.verifier.verifiesWithPublicKeys
        guard !bounded || self.takeCheckPlace() else { return Response(self.refuseOverload(source: source)) }
        let reply = await withUnsafeContinuation { continuation in
            self.handle(incoming, source: source, logger: context.logger) { continuation.resume(returning: $0) }
            if bounded { self.leaveCheckPlace() }  // verified, and the record with the producer
        }
        return Response(reply)
    }

    /// Takes one of the ``maxPublicKeyChecks`` places of a delivery awaiting its public-key
    /// checks; false when every one is taken (the delivery is then refused, ``refuseOverload``).
    func takeCheckPlace() -> Bool {
        guard self.publicKeyChecks.add(1, ordering: .relaxed).newValue <= self.maxPublicKeyChecks else {
            self.publicKeyChecks.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leaveCheckPlace() {
        self.publicKeyChecks.subtract(1, ordering: .relaxed)
    }

    /// Verifies, publishes and answers one request whose body has been read: `reply` is called
    /// once, at once for a refusal or a provider's reply without an event, else from the
    /// producer's delivery-report thread once the broker acknowledged the record or could not.
    func handle(_ incoming: IncomingWebhook, source: GatewaySource, logger: Logger, reply: @escaping @Sendable (GatewayReply) -> Void) {
        let metrics = self.metrics
        let answer: @Sendable (GatewayReply) -> Void = { response in
            metrics.request(source: source.name, status: response.status.code)
            reply(response)
        }
        let receivedAt = ReceivedAt.now()
        let request = WebhookRequest(
            headerFields: incoming.headerFields,
            body: Array(incoming.body.readableBytesView),
            url: source.publicURL.map { url in incoming.query.map { "\(url)?\($0)" } ?? url },
            now: receivedAt.unixSeconds
        )
        let webhook: VerifiedWebhook
        do {
            webhook = try source.verifier.verify(request)
        } catch {
            metrics.verificationFailure(source: source.name, reason: error.reason.code)
            self.log(.refused, source: source.name, level: .info, "webhook refused", metadata: {
                var metadata: Logger.Metadata = ["hookline.source": "\(source.name)", "hookline.reason": "\(error.reason.code)"]
                // The provider's id of the attempt, so its delivery log can be matched to this line.
                if let id = source.verifier.deliveryID(in: request.headerFields) { metadata["hookline.delivery_id"] = "\(id)" }
                return metadata
            }(), logger: logger)
            return answer(.jsonError(error.status, code: error.reason.code, message: error.message))
        }
        guard webhook.publish else {
            return answer(webhook.reply.map(GatewayReply.init) ?? GatewayReply(status: .noContent))
        }
        // Counted once verified, so forged requests cannot spend the provider's budget.
        if let limiter = source.rateLimiter, !limiter.tryAcquire() {
            return answer(.jsonError(.tooManyRequests, code: "rate_limited", message: "This source is over its rate limit; retry later.", retryAfter: "1"))
        }

        let topic = WebhookTopic.name(prefix: self.publisher.topicPrefix, source: source.name, event: source.topicEvent(webhook.event))
        let start = ContinuousClock.now
        let bodyBytes = request.body.count  // not the body: the completion would keep it until the acknowledgement
        self.publisher.publish(webhook, topic: topic, source: source, request: request, receivedAt: receivedAt, arrival: incoming.arrival) { result in
            switch result {
            case .success(let report):
                metrics.ackLatency(source: source.name, start.duration(to: .now))
                metrics.published(topic: topic)
                answer(webhook.reply.map(GatewayReply.init) ?? .accepted(id: webhook.id, report: report, status: source.successStatus))
            case .failure(.overRecordLimit(let recordBytes)):
                // Permanent: the body is within max_body_bytes, its key and headers far beyond 64 KiB.
                self.log(
                    .unacknowledged,
                    source: source.name,
                    level: .warning,
                    "webhook's record over the producer's message.max.bytes with its key and headers; answering 413",
                    metadata: ["hookline.source": "\(source.name)", "kafka.topic": "\(topic)", "kafka.record_bytes": "\(recordBytes)", "http.body_bytes": "\(bodyBytes)"],
                    logger: logger
                )
                answer(
                    .jsonError(
                        .contentTooLarge,
                        code: "record_too_large",
                        message: "With its key and headers the record would be \(recordBytes) bytes, more than this gateway writes; nothing was stored."
                    )
                )
            case .failure(.kafka(let error)) where error.code == .messageSizeTooLarge:
                // The body is within max_body_bytes, so the topic's max.message.bytes is lower than
                // the gateway's records (a topic that existed before, or a limit set since): an
                // operator's to raise. A 503 keeps the provider sending it until then; a 413 would
                // make the provider drop it for good.
                self.log(
                    .unacknowledged,
                    source: source.name,
                    level: .error,
                    "webhook too large for its topic; answering 503: raise the topic's max.message.bytes, or lower gateway.max_body_bytes",
                    metadata: ["hookline.source": "\(source.name)", "kafka.topic": "\(topic)", "kafka.error": "\(error)", "http.body_bytes": "\(bodyBytes)"],
                    logger: logger
                )
                answer(
                    .jsonError(
                        .serviceUnavailable,
                        code: "record_too_large",
                        message: "The broker refuses a record this large until its topic's limit is raised; nothing was acknowledged. Retry later.",
                        retryAfter: "60"
                    )
                )
            case .failure(.kafka(let error)):
                self.log(
                    .unacknowledged,
                    source: source.name,
                    level: .warning,
                    "webhook not acknowledged by the broker; answering 503",
                    metadata: ["hookline.source": "\(source.name)", "kafka.topic": "\(topic)", "kafka.error": "\(error)"],
                    logger: logger
                )
                answer(
                    .jsonError(
                        .serviceUnavailable,
                        code: "broker_unavailable",
                        message: "The event could not be stored; nothing was acknowledged. Retry later.",
                        retryAfter: "5"
                    )
                )
            }
        }
    }
}

extension Gateway {
    /// The configured sources, served on the event loop (``WebhookChannelHandler``).
    var endpoint: WebhookEndpoint {
        WebhookEndpoint(
            maxBodyBytes: self.maxBodyBytes,
            serves: { [sources] in sources[$0] != nil },
            refused: { [self] name, status in
                self.metrics.request(source: name ?? "-", status: status.code)
                self.log(
                    .cutOff,
                    source: name ?? "-",
                    level: .info,
                    "request refused before it was read in full",
                    metadata: ["hookline.source": "\(name ?? "-")", "http.status": "\(status.code)"],
                    logger: self.logger
                )
            }
        ) { name, incoming, reply in
            guard let source = self.sources[name] else {
                // Removed by a reload while its body arrived.
                return reply(self.refuseUnknownSource())
            }
            guard source.verifier.verifiesWithPublicKeys else {
                return self.handle(incoming, source: source, logger: self.logger, reply: reply)
            }
            // Ed25519 checks (75 µs each) go to the cooperative pool, where the scheduler shares
            // the cores between them and the event loops: on the loop, a few forged requests a
            // second held every other connection of that loop back (docs/gateway.md). At most
            // maxPublicKeyChecks at once.
            guard self.takeCheckPlace() else { return reply(self.refuseOverload(source: source)) }
            Task {
                self.handle(incoming, source: source, logger: self.logger, reply: reply)
                self.leaveCheckPlace()
            }
        }
    }
}

/// A webhook request read in full, as ``Gateway/handle(_:source:logger:reply:)`` takes it.
package struct IncomingWebhook: Sendable {
    package var headerFields: HTTPFields
    /// The request target's query, without `?` (Twilio signs the URL with it).
    package var query: String?
    package var body: ByteBuffer
    /// When the request's head arrived: the ack timeout counts from here.
    package var arrival: ContinuousClock.Instant

    package init(headerFields: HTTPFields, query: String?, body: ByteBuffer, arrival: ContinuousClock.Instant) {
        self.headerFields = headerFields
        self.query = query
        self.body = body
        self.arrival = arrival
    }
}
