import NIOCore
import NIOHTTP1

/// Carries a request's HTTP/1.x connection semantics across the conversion to HTTPTypes, which
/// drops the protocol version (every request becomes HTTP/1.1 after it).
///
/// - A request that does not keep the connection alive (HTTP/1.0 without `Connection:
///   keep-alive`, or `Connection: close` in any spelling) reaches the handlers after it with
///   exactly `Connection: close`, which both the webhook handler and Hummingbird's router honour:
///   the connection closes after its answer, and the answer says so (RFC 9112, 9.3 and 9.6). A
///   client such as `ab` without `-k` waits for that close to end each request.
/// - An answer to an HTTP/1.0 request that asked for `Connection: keep-alive` says
///   `Connection: keep-alive`, without which an HTTP/1.0 client takes the connection as closing.
///
/// - A request that asks to switch protocols (an `Upgrade` header, or `CONNECT`) is answered as
///   any other and closes the connection, and nothing more is read from it once it has arrived
///   (its body included: Java's HTTP client asks for `h2c` on the first POST to an `http://`
///   address and sends the body after the head): NIO's HTTP decoder stops parsing after such a
///   request and would keep every byte that followed, without limit.
/// - `Expect: 100-continue` on an HTTP/1.0 request is dropped: a server must ignore it there
///   (RFC 9110, 10.1.1), and an HTTP/1.0 client does not understand `100 Continue`.
/// - Once the server shuts down gracefully, every answer says `Connection: close`: the
///   connection closes after the answer in flight, and a client that sees this sends its next
///   request on a new one instead of finding this one closed under it.
///
/// It sits just before Hummingbird's `HTTP1ToHTTPServerCodec`. A plain HTTP/1.1 request passes
/// through untouched; the cost is a flag read from the parsed head and a ring buffer push and pop.
final class HTTPConnectionOptionsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What an answer owes its request's connection semantics.
    private enum Owed {
        case nothing
        case close
        case keepAlive
    }

    /// One entry per request read and not yet answered, in request order.
    private var owed = CircularBuffer<Owed>(initialCapacity: 4)
    /// A request asked to switch protocols: nothing more is read once it has arrived.
    private var stopsReadsAtEnd = false
    /// The request that asked to switch protocols has arrived, and the decoder has stopped.
    private var readsStopped = false
    /// The server is shutting down gracefully.
    private var quiescing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        guard case .head(var head) = part else {
            // Its body is parsed (a webhook's body can come after its head, in later reads); what
            // follows it is not.
            if case .end = part, self.stopsReadsAtEnd { self.readsStopped = true }
            return context.fireChannelRead(data)
        }
        if head.method == .CONNECT || head.headers.contains(name: "upgrade") {
            self.stopsReadsAtEnd = true
            self.owed.append(.close)
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(self.wrapInboundOut(.head(head)))
        } else if head.version == .http1_0 {
            head.headers.remove(name: "expect")
            self.owed.append(head.isKeepAlive ? .keepAlive : .close)
            if !head.isKeepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
            context.fireChannelRead(self.wrapInboundOut(.head(head)))
        } else if !head.isKeepAlive {
            self.owed.append(.close)
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(self.wrapInboundOut(.head(head)))
        } else {
            self.owed.append(.nothing)
            context.fireChannelRead(data)
        }
    }

    func read(context: ChannelHandlerContext) {
        if !self.readsStopped { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { self.quiescing = true }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A 1xx answer (100 Continue) is not the request's final answer.
        guard case .head(var head) = self.unwrapOutboundIn(data), head.status.code >= 200 else {
            return context.write(data, promise: promise)
        }
        // None is owed for an answer to bytes that never parsed into a request.
        let owed = self.owed.popFirst() ?? .nothing
        switch self.quiescing ? .close : owed {
        case .nothing:
            return context.write(data, promise: promise)
        case .close:
            head.headers.replaceOrAdd(name: "connection", value: "close")
        case .keepAlive:
            guard head.isKeepAlive else { return context.write(data, promise: promise) }
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        context.write(self.wrapOutboundOut(.head(head)), promise: promise)
    }
}
