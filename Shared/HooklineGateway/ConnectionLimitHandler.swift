import Logging
import NIOCore

/// On the listening socket's channel: stops accepting connections while `limit` are open, and
/// resumes as soon as one closes. Meanwhile new connections wait in the kernel's accept queue
/// (the listen backlog), and past that the kernel leaves their handshakes unanswered, so their
/// clients retry; none is accepted only to be dropped. This bounds the file descriptors and the
/// memory that clients can make a gateway hold: a connection holds at most one body of
/// `max_body_bytes` while reading it, and one read's worth of what it pipelines behind a webhook
/// waiting for its acknowledgement.
///
/// NIO reads a listening socket like any other, an accepted connection a message: after each
/// read the channel asks for the next, which this handler withholds while the limit is reached.
/// The server channel must read one connection at a time (`maxMessagesPerRead` 1), or a read
/// could accept a few past the limit.
final class ConnectionLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    private let limit: Int
    private let logger: Logger
    private var open = 0
    /// The channel asked to accept while the limit was reached.
    private var readPending = false
    private var removed = false
    private var lastWarning: NIODeadline?

    init(limit: Int, logger: Logger) {
        precondition(limit > 0, "a connection limit must be positive")
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.open += 1
        let target = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        self.unwrapInboundIn(data).closeFuture.whenComplete { [eventLoop = context.eventLoop] _ in
            eventLoop.execute { target.value.handler.closed(context: target.value.context) }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard self.open >= self.limit else {
            context.read()
            return
        }
        guard !self.readPending else { return }
        self.readPending = true
        // Once in ten seconds at most: under a flood of connections this could be many a second.
        let now = NIODeadline.now()
        if self.lastWarning.map({ now - $0 >= .seconds(10) }) ?? true {
            self.lastWarning = now
            self.logger.warning(
                "connection limit reached: not accepting until a connection closes",
                metadata: ["hookline.connection_limit": "\(self.limit)"]
            )
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.removed = true
    }

    private func closed(context: ChannelHandlerContext) {
        self.open -= 1
        if self.readPending, self.open < self.limit, !self.removed {
            self.readPending = false
            context.read()
        }
    }
}
