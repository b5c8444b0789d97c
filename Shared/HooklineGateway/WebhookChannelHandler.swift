import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// What ``WebhookChannelHandler`` serves: the gateway, or in the HTTP-only ceiling benchmark a
/// stand-in that answers 202 at once.
package struct WebhookEndpoint: Sendable {
    /// The largest body read; a longer one is left to the router, which answers 413.
    package var maxBodyBytes: Int
    /// Whether `POST /webhooks/<name>` is served here; the router answers the rest (404 included).
    package var serves: @Sendable (_ source: String) -> Bool
    /// Answers one request by calling `reply` once, on any thread.
    package var handle: @Sendable (_ source: String, IncomingWebhook, _ reply: @escaping @Sendable (GatewayReply) -> Void) -> Void
    /// Told, on the event loop, when the handler itself refuses a request before the endpoint
    /// saw it: a webhook for `source` that did not arrive in full within the request timeout
    /// (408), or bytes that are not HTTP/1.1 (400, or 431 for an oversized header; `source` is
    /// nil unless a webhook's head had been read). The connection is then closed.
    package var refused: @Sendable (_ source: String?, _ status: HTTPResponse.Status) -> Void

    package init(
        maxBodyBytes: Int,
        serves: @escaping @Sendable (String) -> Bool,
        refused: @escaping @Sendable (String?, HTTPResponse.Status) -> Void = { _, _ in },
        handle: @escaping @Sendable (String, IncomingWebhook, @escaping @Sendable (GatewayReply) -> Void) -> Void
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.serves = serves
        self.refused = refused
        self.handle = handle
    }
}

/// Serves `POST /webhooks/<source>` on the connection's event loop: reads the request, hands it
/// to the endpoint, and writes the answer when the endpoint calls back (from the producer's
/// delivery-report thread). A request so served costs no Swift task, no async body stream and no
/// hop to the cooperative pool and back: measured under wrk, the gateway spent 73 µs of CPU a
/// request this way against 108 through the router (docs/benchmarks.md).
///
/// A client that sends `Expect: 100-continue` gets `100 Continue` before it sends the body; one
/// that sends `Connection: close` has the connection closed after its answer.
///
/// Every request, served here or by the router, must arrive in full within the request timeout
/// of its head, and a later request's head on a kept-alive connection within that of its first
/// bytes: Hummingbird's idle timeout cuts off a client that stalls, but not one that sends a byte
/// now and then. A webhook that runs out of time is answered 408 and its connection is
/// closed; a request of the router's just has its connection closed (an answer could overtake
/// the router's). The timer is set only for a request still incomplete at the end of a read,
/// so a request that arrives in one read costs none.
///
/// Everything else goes on to Hummingbird's router unchanged: other paths and methods, unknown
/// sources, a body announced or found to be over the limit, expectations other than
/// `100-continue`, and any request that arrives while the router still owes an answer on this
/// connection (answers must leave in request order). The first such request hands the
/// connection to the router (`handOff`: ``GatewayServer`` starts a task for it); a connection
/// that carries only webhooks never costs one, and this handler closes it when the client
/// closes its side. While a webhook waits for its answer, what the client pipelines behind it is
/// held until the answer is written, and once something is held no more is read: one read's
/// worth at most. A client that half-closes the connection
/// after its request (shuts down its sending side) still gets every answer.
///
/// Bytes that are not HTTP/1.1 get a JSON 400 (431 for a header over the decoder's limit) and the
/// connection is closed, after the answers owed before them; Hummingbird's own answer to them,
/// which is left to it when the router owes an answer, has no body.
///
/// It sits after Hummingbird's `HTTPConnectionStateHandler`, which therefore sees every request
/// and answer: idle timeouts and graceful shutdown (close once the answer in flight is written)
/// work for these requests as for the router's.
final class WebhookChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        /// A webhook's body is arriving (into `body`).
        case reading(source: String, head: HTTPRequest)
        /// The current request is the router's.
        case routing
        /// A webhook waits for its answer.
        case answering
        /// The request timed out or was not HTTP; the connection is closing.
        case closing
    }

    private let endpoint: WebhookEndpoint
    private var state = State.idle
    /// The body of the webhook being read; outside the state, so appending never copies it.
    private var body = ByteBuffer()
    /// Requests passed to the router whose answer has not been written yet.
    private var routerAnswersDue = 0
    /// What arrived while answering, in order, each part with when it was read: a held request's
    /// timeouts count from its head's arrival, not from when its turn came.
    private var held = CircularBuffer<(part: HTTPRequestPart, read: ContinuousClock.Instant)>()
    /// Held requests are being served, further up the stack: an answer given meanwhile (a refusal
    /// answers at once, on this thread) leaves the next one to that loop instead of serving it
    /// itself, which would nest a call per held request, thousands deep in one read's worth.
    private var draining = false
    private var readDeferred = false
    /// The webhook being read or answered asked for `Connection: close`.
    private var closeAfterAnswer = false
    /// The client closed its sending side while a webhook waited for its answer: acted on once
    /// the answer is written, since that closes the connection.
    private var inputClosedPending = false
    /// Bytes that were not HTTP, read while a webhook waited for its answer: refused after it.
    private var parseErrorPending: HTTPParserError?
    private let requestTimeoutMs: Int
    /// When the head of the request being read arrived: its ack timeout and its request timeout
    /// count from here.
    private var arrival = ContinuousClock.now
    private var deadlineTimer: Scheduled<Void>?
    /// Closes a connection whose first request's head has not arrived within the request timeout.
    private var firstRequestTimer: Scheduled<Void>?
    /// The decoder passed something on during the current read: a read without any leaves bytes
    /// it holds, the start of a head.
    private var partsThisRead = false
    /// Gives the connection to the router (``GatewayServer``): called on the event loop, once,
    /// before the first part of a request for the router is passed on.
    private let handOff: (any Channel) throws -> Void
    /// Whether the router has this connection.
    private var isRouted = false

    init(endpoint: WebhookEndpoint, requestTimeoutMs: Int, handOff: @escaping (any Channel) throws -> Void) {
        self.endpoint = endpoint
        self.requestTimeoutMs = requestTimeoutMs
        self.handOff = handOff
    }

    /// A new connection must bring its first request's head within the request timeout, not the idle
    /// timeout (75 s by default, for load balancers' kept-alive connections): otherwise a few
    /// thousand sockets that never send a byte, 55 new ones a second, would hold every connection
    /// the gateway allows (`max_connections`), its probes' included.
    func channelActive(context: ChannelHandlerContext) {
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.firstRequestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(self.requestTimeoutMs))) {
            handler.value.0.firstRequestTimer = nil
            handler.value.1.close(promise: nil)
        }
        context.fireChannelActive()
    }

    private var isAnswering: Bool {
        if case .answering = self.state { true } else { false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.partsThisRead = true
        if let timer = self.firstRequestTimer {
            timer.cancel()
            self.firstRequestTimer = nil
        }
        let part = self.unwrapInboundIn(data)
        if self.isAnswering {
            self.held.append((part, .now))
        } else {
            self.take(part, context: context)
        }
    }

    /// - Parameter read: when the part was read; the current time unless it was held.
    private func take(_ part: HTTPRequestPart, read: ContinuousClock.Instant = .now, context: ChannelHandlerContext) {
        switch (self.state, part) {
        case (.idle, .head(let head)):
            self.arrival = read
            if self.routerAnswersDue == 0, let (source, flags) = self.source(of: head) {
                self.state = .reading(source: source, head: head)
                self.body = ByteBuffer()
                self.closeAfterAnswer = flags.closesConnection
                if flags.expectsContinue {
                    // The client waits for this before sending the body (RFC 9110, 10.1.1); without
                    // it, curl waits a second and other clients longer.
                    context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            } else {
                self.route(part, context: context)
            }
        case (.reading(_, let head), .body(var chunk)):
            guard self.body.readableBytes + chunk.readableBytes <= self.endpoint.maxBodyBytes else {
                // Over the limit while streaming: the router refuses it, as every oversize body.
                self.route(.head(head), context: context)
                self.passToRouter(.body(self.body), context: context)
                self.passToRouter(.body(chunk), context: context)
                self.body = ByteBuffer()
                return
            }
            if self.body.readableBytes == 0 {
                self.body = chunk
            } else {
                self.body.writeBuffer(&chunk)
            }
        case (.reading(let source, let head), .end):
            self.requestArrived()
            self.state = .answering
            let incoming = IncomingWebhook(headerFields: head.headerFields, query: Self.query(of: head.path), body: self.body, arrival: self.arrival)
            self.body = ByteBuffer()
            let eventLoop = context.eventLoop
            let target = NIOLoopBound((handler: self, context: context), eventLoop: eventLoop)
            self.endpoint.handle(source, incoming) { reply in
                if eventLoop.inEventLoop {
                    target.value.handler.answer(reply, context: target.value.context)
                } else {
                    eventLoop.execute { target.value.handler.answer(reply, context: target.value.context) }
                }
            }
        case (.routing, .end):
            self.requestArrived()
            self.state = .idle
            self.passToRouter(part, context: context)
        case (.closing, _):
            break
        case (.reading, .head), (.answering, _):
            // The HTTP decoder does not start a request inside another; channelRead holds parts while answering.
            // The message names no request part or state: they carry headers and body bytes.
            preconditionFailure("a request part arrived while another request was being read or answered")
        case (.idle, _), (.routing, _):
            self.passToRouter(part, context: context)
        }
    }

    /// Passes a request's head to the router: the request is the router's to its end.
    private func route(_ head: HTTPRequestPart, context: ChannelHandlerContext) {
        self.state = .routing
        self.routerAnswersDue += 1
        self.passToRouter(head, context: context)
    }

    /// Passes a part to the router, giving it the connection first if it does not have it yet.
    private func passToRouter(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if !self.isRouted {
            self.isRouted = true
            do {
                try self.handOff(context.channel)
            } catch {
                self.state = .closing
                return context.close(promise: nil)
            }
        }
        context.fireChannelRead(self.wrapInboundOut(part))
    }

    /// What a webhook's header asks of the connection.
    private struct HeadFlags {
        /// `Expect: 100-continue`: the client waits for `100 Continue` before sending the body.
        var expectsContinue = false
        /// `Connection: close`.
        var closesConnection = false
    }

    /// The source a request is for, when it is one served here, and what it asks of the connection.
    private func source(of head: HTTPRequest) -> (source: String, flags: HeadFlags)? {
        guard head.method == .post, let path = head.path, path.utf8.starts(with: "/webhooks/".utf8) else { return nil }
        let rest = path.utf8.dropFirst(10)
        let name = Substring(rest.prefix { $0 != UInt8(ascii: "?") })
        guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "/")), let flags = self.flags(of: head.headerFields) else { return nil }
        let source = String(name)
        return self.endpoint.serves(source) ? (source, flags) : nil
    }

    /// What a webhook's header asks of the connection; nil when a field makes the request the
    /// router's: an `Expect` other than `100-continue`, a `Content-Length` over the limit (or
    /// repeated, or not a number; the router answers 413 before the body is sent). One pass over
    /// the fields: `HTTPFields`' subscript joins a found field's values through unspecialised
    /// generic code, which cost more than this whole pass.
    private func flags(of fields: HTTPFields) -> HeadFlags? {
        var flags = HeadFlags()
        var lengths = 0
        for field in fields {
            switch field.name {
            case .expect:
                guard field.value.lowercased() == "100-continue" else { return nil }
                flags.expectsContinue = true
            case .contentLength:
                lengths += 1
                if lengths > 1 || (Int(field.value) ?? .max) > self.endpoint.maxBodyBytes { return nil }
            case .connection:
                if field.value.lowercased().contains("close") { flags.closesConnection = true }
            default:
                continue
            }
        }
        return flags
    }

    private static func query(of path: String?) -> String? {
        guard let path, let mark = path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return String(path[path.index(after: mark)...])
    }

    private func answer(_ reply: GatewayReply, context: ChannelHandlerContext) {
        guard self.isAnswering else { return }  // one answer per webhook
        if self.closeAfterAnswer {
            // Nothing pipelined behind it is served.
            self.state = .closing
            self.held.removeAll()
            return self.close(answering: reply, context: context)
        }
        self.write(reply, context: context)
        self.state = .idle
        guard !self.draining else { return }
        if !self.held.isEmpty {
            self.draining = true
            while !self.isAnswering, let (part, read) = self.held.popFirst() {
                self.take(part, read: read, context: context)
            }
            self.draining = false
            self.armRequestDeadline(context: context)
            // Hummingbird's inbound stream delivers what it was given at the end of a read.
            context.fireChannelReadComplete()
        }
        self.resumeReads(context: context)
        if let error = self.parseErrorPending, !self.isAnswering {
            self.parseErrorPending = nil
            self.errorCaught(context: context, error: error)
        }
        if self.inputClosedPending, !self.isAnswering {
            self.inputClosedPending = false
            self.inputClosed(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, self.routerAnswersDue == 0 else {
            return context.fireErrorCaught(error)
        }
        switch self.state {
        case .answering:
            self.parseErrorPending = parseError
        case .idle, .reading:
            self.refuseUnparsable(parseError, context: context)
        case .routing:
            // The router has answered every request it was given (none is due) and is reading the
            // rest of a body it answered before reading (a 413 for an announced size; a request's
            // end sets the state back to idle): Hummingbird would answer the broken remainder with
            // a second response. Close instead, once that answer has gone.
            self.state = .closing
            self.closeOnceWritten(context: context)
        case .closing:
            context.fireErrorCaught(error)
        }
    }

    private func refuseUnparsable(_ error: HTTPParserError, context: ChannelHandlerContext) {
        var source: String?
        if case .reading(let name, _) = self.state { source = name }
        self.requestArrived()
        self.state = .closing
        self.body = ByteBuffer()
        let reply: GatewayReply =
            switch error {
            case .headerOverflow:
                .jsonError(.requestHeaderFieldsTooLarge, code: "headers_too_large", message: "The request's header is larger than this gateway accepts.")
            case .invalidEOFState:
                // The connection's input ended mid-request: the client half-closed it, or the
                // gateway is cutting off what it still reads at the end of its shutdown grace. Not
                // malformed: the sender should simply send it again.
                .jsonError(
                    .serviceUnavailable,
                    code: "incomplete_request",
                    message: "The connection ended before the request arrived in full; send it again.",
                    retryAfter: "1"
                )
            default:
                .jsonError(.badRequest, code: "malformed_http", message: "The request is not valid HTTP/1.1.")
            }
        self.endpoint.refused(source, reply.status)
        self.close(answering: reply, context: context)
    }

    /// Writes `reply` with `Connection: close` and closes the connection once it is written (a
    /// client that does not read it is cut off by the idle timeout).
    private func close(answering reply: GatewayReply, context: ChannelHandlerContext) {
        var reply = reply
        reply.headerFields[.connection] = "close"
        let written = context.eventLoop.makePromise(of: Void.self)
        self.write(reply, context: context, promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.inputClosed(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// The client closed its sending side: once every answer owed is written, the connection is
    /// closed (by the router's handling, when it has the connection).
    private func inputClosed(context: ChannelHandlerContext) {
        switch self.state {
        case .answering:
            self.inputClosedPending = true
        case .closing:
            break  // closed once its answer is written
        case .idle, .reading, .routing:
            if self.isRouted {
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            } else {
                self.closeOnceWritten(context: context)
            }
        }
    }

    /// Closes the connection once what was written to it has gone to the socket: a close fails
    /// the writes still buffered, answers the client has not read yet (it may be reading them
    /// after shutting down its sending side). Looks again every 10 ms; a client that stops
    /// reading is cut off by the idle timeout.
    private func closeOnceWritten(context: ChannelHandlerContext) {
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        guard buffered > 0, context.channel.isActive else {
            return context.close(promise: nil)
        }
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(10)) {
            handler.value.0.closeOnceWritten(context: handler.value.1)
        }
    }

    private func write(_ reply: GatewayReply, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        var head = HTTPResponse(status: reply.status, headerFields: reply.headerFields)
        // Appended, not set: a reply never carries these two (setting one goes through generic code).
        head.headerFields.append(HTTPField(name: .contentLength, value: String(reply.body.readableBytes)))
        head.headerFields.append(HTTPField(name: .date, value: SecondTexts.now.httpDate))
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if reply.body.readableBytes > 0 {
            context.write(self.wrapOutboundOut(.body(reply.body)), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: promise)
    }

    // MARK: The request timeout

    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.partsThisRead, case .idle = self.state, self.firstRequestTimer == nil {
            // Bytes the decoder holds: a head has begun. Hummingbird's idle timeout counts from
            // the last whole request part, so a head trickled a byte now and then would hold the
            // connection for all of it (75 s by default), one request in that time enough to
            // start the next. A head whose first bytes came in the same read as the request
            // before it counts from the next read.
            self.scheduleRequestDeadline(from: .now, context: context)
        } else {
            self.armRequestDeadline(context: context)
        }
        self.partsThisRead = false
        context.fireChannelReadComplete()
    }

    /// Starts the request timer when a read ended with a request still incomplete.
    private func armRequestDeadline(context: ChannelHandlerContext) {
        switch self.state {
        case .reading, .routing:
            self.scheduleRequestDeadline(from: self.arrival, context: context)
        case .idle, .answering, .closing:
            break
        }
    }

    /// Starts the request timer, unless it runs: a head that began before its timer was set keeps
    /// it, so the whole request counts from its first byte.
    private func scheduleRequestDeadline(from start: ContinuousClock.Instant, context: ChannelHandlerContext) {
        guard self.deadlineTimer == nil else { return }
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let remaining = .milliseconds(self.requestTimeoutMs) - start.duration(to: .now)
        self.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(remaining)) {
            handler.value.0.requestTimedOut(context: handler.value.1)
        }
    }

    private func requestArrived() {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
    }

    private func requestTimedOut(context: ChannelHandlerContext) {
        self.deadlineTimer = nil
        switch self.state {
        case .reading(let source, _):
            self.state = .closing
            self.body = ByteBuffer()
            self.endpoint.refused(source, .requestTimeout)
            let message = "The request did not arrive in full within \(self.requestTimeoutMs) ms."
            self.close(answering: .jsonError(.requestTimeout, code: "request_timeout", message: message), context: context)
        case .routing:
            self.state = .closing
            context.close(promise: nil)
        case .idle:
            // A head still arriving, for a source not known yet.
            self.state = .closing
            guard self.routerAnswersDue == 0 else {
                return context.close(promise: nil)  // an answer could overtake the router's
            }
            self.endpoint.refused(nil, .requestTimeout)
            let message = "The request's header did not arrive in full within \(self.requestTimeoutMs) ms."
            self.close(answering: .jsonError(.requestTimeout, code: "request_timeout", message: message), context: context)
        case .answering, .closing:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) {
            // Never below 0: Hummingbird also answers a request it could not parse.
            self.routerAnswersDue = max(0, self.routerAnswersDue - 1)
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if self.readsWait(context: context) {
            self.readDeferred = true
        } else {
            context.read()
        }
    }

    /// Whether reading waits: while the client pipelines behind a waiting webhook, and while
    /// the answers already written wait for the client to read them (the channel is not
    /// writable: more than NIO's high watermark, 64 KB, is buffered beyond the socket's own
    /// buffers). Without the second, a client that sends refusals without reading their answers
    /// (each about 7 times the size of its request) grew the gateway's memory without limit.
    /// Reads do not stop for each request: that costs two `epoll_ctl` calls, and the usual
    /// client (one request at a time per connection) sends nothing more until it has its answer.
    private func readsWait(context: ChannelHandlerContext) -> Bool {
        (self.isAnswering && !self.held.isEmpty) || !context.channel.isWritable
    }

    private func resumeReads(context: ChannelHandlerContext) {
        if self.readDeferred, !self.readsWait(context: context) {
            self.readDeferred = false
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.resumeReads(context: context)
        context.fireChannelWritabilityChanged()
    }

    /// Called when the connection closes (its pipeline is torn down): `channelInactive` does not
    /// reach this handler, since Hummingbird's `HTTPConnectionStateHandler` before it does not
    /// pass it on. A request cut off mid-way has already been refused through the decoder's
    /// end-of-input error; this stops its timer, which would otherwise keep the handler and what
    /// it holds until it fired.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.firstRequestTimer?.cancel()
        self.requestArrived()
        self.held.removeAll()
    }
}
