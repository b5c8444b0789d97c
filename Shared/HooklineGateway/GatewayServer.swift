import HTTPTypes
import HooklineConfig
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The gateway's HTTP/1.1 server: NIO's `ServerBootstrap` with Hummingbird's HTTP/1 pipeline,
/// ``WebhookChannelHandler`` serving webhooks on the event loop, and Hummingbird's router for
/// everything else.
///
/// A connection costs no Swift task until one of its requests is the router's (a health check, a
/// metrics scrape, a refusal the router answers); only then is it wrapped in an async channel and
/// handed to a task running Hummingbird's HTTP/1 handling, for the rest of its life. Hummingbird's
/// own server gives every connection that task from the start, and with a new connection per
/// request (a sender or proxy that does not keep connections alive) it cost the HTTP-only ceiling
/// about 110 µs of CPU a connection, as much again as everything else a connection and its
/// request cost (docs/benchmarks.md).
///
/// What Hummingbird's server did is done the same way: the child channels' options, the decoder's
/// limits, `HTTPConnectionStateHandler` (idle timeout, closing after the answer in flight on
/// shutdown). At most `maxConnections` are open at once (``ConnectionLimitHandler``), which must
/// leave file descriptors to spare (``FileDescriptorLimit``). A graceful shutdown stops accepting
/// and asks every connection to close once its answer in flight is written, as NIO's
/// `ServerQuiescingHelper` does. A cancelled server (the
/// shutdown ran out of time) closes every connection at once, as Hummingbird's per-connection
/// tasks did, but first its input: a webhook still arriving gets a 503 and is sent again. Either
/// way `run` returns once every connection has closed.
package struct GatewayServer: Service {
    /// How long a connection may take and how many may be open.
    package struct Limits: Sendable {
        /// Every request must arrive in full within this of its head.
        package var requestTimeoutMs: Int
        /// A connection on which nothing arrives for this long is closed.
        package var idleTimeoutMs: Int
        /// At this many open connections, accepting waits until one closes.
        package var maxConnections: Int

        /// `gateway:`'s, with `maxConnections` as the open-file limit allows.
        package init(_ gateway: GatewaySection, maxConnections: Int) {
            self.requestTimeoutMs = gateway.requestTimeoutMs
            self.idleTimeoutMs = gateway.idleTimeoutMs
            self.maxConnections = maxConnections
        }
    }

    private let address: ListenAddress
    private let endpoint: WebhookEndpoint
    private let http1: HTTP1Channel
    private let limits: Limits
    private let logger: Logger
    private let onServerRunning: @Sendable (Int) async -> Void
    private let metrics: GatewayMetrics?
    /// Its open connections, to tell and end them when it stops.
    private let connections: OpenConnections

    /// - Parameters:
    ///   - router: answers what the webhook handler leaves to it.
    ///   - onServerRunning: called with the bound port once the server listens (tests bind port 0).
    package init(
        address: ListenAddress,
        webhooks endpoint: WebhookEndpoint,
        router: Router<BasicRequestContext>,
        limits: Limits,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(
            address: address,
            webhooks: endpoint,
            router: router,
            limits: limits,
            metrics: nil,
            logger: logger,
            onServerRunning: onServerRunning
        )
    }

    /// The gateway's: with `metrics`, its connections are counted.
    init(
        address: ListenAddress,
        webhooks endpoint: WebhookEndpoint,
        router: Router<BasicRequestContext>,
        limits: Limits,
        metrics: GatewayMetrics?,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) {
        self.address = address
        self.endpoint = endpoint
        self.http1 = HTTP1Channel(responder: Self.responder(router.buildResponder(), logger: logger))
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.onServerRunning = onServerRunning
        self.connections = OpenConnections(metrics: metrics)
    }

    /// Tells every connection, now and accepted from now on, that the server is shutting down:
    /// each closes after its answer in flight, which says `Connection: close`. The gateway calls
    /// it at the signal before it flushes its records, so that their acknowledgements reach each
    /// connection after the news. It does not end the server's run, which its service group's
    /// graceful shutdown does (a run that ended first would count as a service that failed).
    func announceShutdown() {
        self.connections.announce()
    }

    package func run() async throws {
        let (routed, handOff) = AsyncStream.makeStream(of: RouterConnection.self)
        let connections = self.connections
        let endpoint = self.endpoint
        let limits = self.limits
        let logger = self.logger
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // One connection a read, so that the limit is checked before each.
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionLimitHandler(limit: limits.maxConnections, logger: logger)
                    )
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, endpoint: endpoint, limits: limits, handOff: handOff, logger: logger)
                    // After its handlers: one accepted while the server stops is asked to close.
                    connections.add(channel)
                }
            }
            .bind(host: self.address.host, port: self.address.port)
            .get()
        let port = channel.localAddress?.port ?? self.address.port
        self.metrics?.connectionLimit(limits.maxConnections)
        self.logger.info("listening", metadata: ["hookline.listen": "\(self.address.host):\(port)"])
        await self.onServerRunning(port)

        let http1 = self.http1
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    // No hand-off comes after the last connection has closed.
                    await connections.allClosed()
                    handOff.finish()
                }
                await withGracefulShutdownHandler {
                    for await connection in routed {
                        group.addTask { await http1.handle(value: connection, logger: logger) }
                    }
                } onGracefulShutdown: {
                    channel.close(promise: nil)
                    connections.end(.quiescing)
                }
            }
        } onCancel: {
            channel.close(promise: nil)
            connections.end(.cuttingOff)
        }
    }

    /// Hummingbird's HTTP/1 pipeline and the gateway's two handlers: ``HTTPConnectionOptionsHandler``
    /// after the decoder, ``WebhookChannelHandler`` after the connection-state handler.
    private static func configure(
        _ channel: any Channel,
        endpoint: WebhookEndpoint,
        limits: Limits,
        handOff: AsyncStream<RouterConnection>.Continuation,
        logger: Logger
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        let hummingbirdLimits = HTTP1Channel.Configuration.DecoderConfiguration()
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = hummingbirdLimits.maxHeaderFieldSize
        decoderLimits.maxHeaderListSize = hummingbirdLimits.maxHeaderListSize
        decoderLimits.maxHeaderFieldCount = hummingbirdLimits.maxHeaderFieldCount
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: decoderLimits
        )
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(HTTPConnectionOptionsHandler(), position: .after(decoder))
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: .milliseconds(limits.idleTimeoutMs), logger: logger))
        try pipeline.addHandler(
            WebhookChannelHandler(endpoint: endpoint, requestTimeoutMs: limits.requestTimeoutMs) { channel in
                // On the event loop, before the router's first request part is passed on.
                let asyncChannel = try RouterConnection(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true)
                )
                if case .terminated = handOff.yield(asyncChannel) {
                    channel.close(promise: nil)
                } else {
                    logger.trace("connection handed to the router")
                }
            }
        )
    }

    /// Hummingbird's glue between its HTTP/1 handling and a router, as its `Application` has it:
    /// a request context with a request id in its logger, 500 for an error nothing answered, and
    /// a `Date` header on every answer.
    private static func responder(_ router: some HTTPResponder<BasicRequestContext>, logger: Logger) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await router.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("unhandled error", metadata: ["error.type": "\(type(of: error))"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = SecondTexts.now.httpDate
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Not rethrown as one: Hummingbird would answer it with a 400 after this answer.
                throw ParseErrorWhileAnswering()
            }
        }
    }

    private struct ParseErrorWhileAnswering: Error {}
}

/// The server's open connections, to end them when the server stops: what NIO's
/// `ServerQuiescingHelper` keeps for a graceful shutdown, and also what a cancelled server needs
/// to cut them off.
final class OpenConnections: Sendable {
    /// How the connections are being ended; each step only ever goes further.
    enum Ending: Comparable {
        case no
        /// Each closes once its answer in flight is written (`HTTPConnectionStateHandler`).
        case quiescing
        /// Each has its input closed, so that a webhook still arriving is refused (503, to be sent
        /// again), and is then closed, whatever it was waiting for.
        case cuttingOff
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var ending = Ending.no
        /// Every connection has been told to quiesce (``announce()``), before the ending began.
        var announced = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let metrics: GatewayMetrics?

    init(metrics: GatewayMetrics?) {
        self.metrics = metrics
    }

    /// Called once the channel's handlers are in place; a connection accepted while the server
    /// stops is ended too.
    func add(_ channel: any Channel) {
        let ending = self.state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = channel
            return state.announced ? max(state.ending, .quiescing) : state.ending
        }
        self.metrics?.connectionOpened()
        channel.closeFuture.whenComplete { _ in self.remove(channel) }
        Self.end(channel, ending)
    }

    func end(_ ending: Ending) {
        let (channels, waiter) = self.state.withLock { state -> ([any Channel], CheckedContinuation<Void, Never>?) in
            guard ending > state.ending else { return ([], nil) }
            state.ending = ending
            let waiter = state.channels.isEmpty ? state.waiter.take() : nil
            // Quiescing channels that were told already would tell them twice.
            if ending == .quiescing, state.announced { return ([], waiter) }
            return (Array(state.channels.values), waiter)
        }
        for channel in channels { Self.end(channel, ending) }
        waiter?.resume()
    }

    /// Tells every connection, and each one added from now on, to quiesce, without beginning
    /// the ending: ``allClosed()`` still waits for ``end(_:)``.
    func announce() {
        let channels = self.state.withLock { state -> [any Channel] in
            guard !state.announced, state.ending == .no else { return [] }
            state.announced = true
            return Array(state.channels.values)
        }
        for channel in channels { Self.end(channel, .quiescing) }
    }

    /// Returns once the connections are being ended and the last one has closed.
    func allClosed() async {
        await withCheckedContinuation { continuation in
            let done = self.state.withLock { state in
                if state.ending > .no, state.channels.isEmpty { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func remove(_ channel: any Channel) {
        self.metrics?.connectionClosed()
        let waiter = self.state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = nil
            return state.ending > .no && state.channels.isEmpty ? state.waiter.take() : nil
        }
        waiter?.resume()
    }

    private static func end(_ channel: any Channel, _ ending: Ending) {
        switch ending {
        case .no:
            break
        case .quiescing:
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        case .cuttingOff:
            channel.close(mode: .input, promise: nil)
            channel.close(promise: nil)
        }
    }
}

/// A connection handed to the router, as Hummingbird's HTTP/1 handling takes it.
private typealias RouterConnection = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
