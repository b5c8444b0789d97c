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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = self.unwrapInboundIn(data) else {
            return context.fireChannelRead(data)
        }
        if !head.isKeepAlive {
            self.owed.append(.close)
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(self.wrapInboundOut(.head(head)))
        } else {
            self.owed.append(head.version == .http1_0 ? .keepAlive : .nothing)
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A 1xx answer (100 Continue) is not the request's final answer.
        guard case .head(var head) = self.unwrapOutboundIn(data), head.status.code >= 200 else {
            return context.write(data, promise: promise)
        }
        // None is owed for an answer to bytes that never parsed into a request.
        switch self.owed.popFirst() ?? .nothing {
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
