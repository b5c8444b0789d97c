import HTTPTypes
import HooklineConfig
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle

/// The gateway's HTTP/1.1 server: NIO's `ServerBootstrap` with Hummingbird's HTTP/1 pipeline,
/// ``WebhookChannelHandler`` serving webhooks on the event loop, and Hummingbird's router for
/// everything else.
///
/// A connection costs no Swift task until one of its requests is the router's (a health check, a
/// metrics scrape, a refusal the router answers); only then is it wrapped in an async channel and
/// handed to a task running Hummingbird's HTTP/1 handling, for the rest of its life. Hummingbird's
/// own server gives every connection that task from the start, and with a new connection per
/// request (a sender or proxy that does not keep connections alive) it cost the HTTP-only ceiling
/// about 100 µs of CPU a connection, twice what accepting it cost otherwise (docs/benchmarks.md).
///
/// What Hummingbird's server did is done the same way: the child channels' options, the decoder's
/// limits, `HTTPConnectionStateHandler` (idle timeout, closing after the answer in flight on
/// shutdown), NIO's quiescing on graceful shutdown, which returns once every connection is closed.
public struct GatewayServer: Service {
    private let address: ListenAddress
    private let endpoint: WebhookEndpoint
    private let http1: HTTP1Channel
    private let requestTimeoutMs: Int
    private let logger: Logger
    private let onServerRunning: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - router: answers what the webhook handler leaves to it.
    ///   - onServerRunning: called with the bound port once the server listens (tests bind port 0).
    public init(
        address: ListenAddress,
        webhooks endpoint: WebhookEndpoint,
        router: Router<BasicRequestContext>,
        requestTimeoutMs: Int,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.address = address
        self.endpoint = endpoint
        self.http1 = HTTP1Channel(responder: Self.responder(router.buildResponder(), logger: logger))
        self.requestTimeoutMs = requestTimeoutMs
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let (routed, handOff) = AsyncStream.makeStream(of: RouterConnection.self)
        let quiescing = ServerQuiescingHelper(group: MultiThreadedEventLoopGroup.singleton)
        let endpoint = self.endpoint
        let requestTimeoutMs = self.requestTimeoutMs
        let logger = self.logger
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, endpoint: endpoint, requestTimeoutMs: requestTimeoutMs, handOff: handOff, logger: logger)
                }
            }
            .bind(host: self.address.host, port: self.address.port)
            .get()
        let port = channel.localAddress?.port ?? self.address.port
        self.logger.info("listening", metadata: ["hookline.listen": "\(self.address.host):\(port)"])
        await self.onServerRunning(port)

        let http1 = self.http1
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await connection in routed {
                    group.addTask { await http1.handle(value: connection, logger: logger) }
                }
            } onGracefulShutdown: {
                // Stops accepting, closes idle connections and the others once their answer is
                // written; the hand-offs end when the last connection has closed.
                let closed = channel.eventLoop.makePromise(of: Void.self)
                quiescing.initiateShutdown(promise: closed)
                closed.futureResult.whenComplete { _ in handOff.finish() }
            }
        }
        // Cancelled rather than shut down gracefully: stop accepting all the same.
        try? await channel.close()
    }

    /// Hummingbird's HTTP/1 pipeline and the gateway's two handlers: ``HTTPConnectionOptionsHandler``
    /// after the decoder, ``WebhookChannelHandler`` after the connection-state handler.
    private static func configure(
        _ channel: any Channel,
        endpoint: WebhookEndpoint,
        requestTimeoutMs: Int,
        handOff: AsyncStream<RouterConnection>.Continuation,
        logger: Logger
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        let limits = HTTP1Channel.Configuration.DecoderConfiguration()
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderFieldSize
        decoderLimits.maxHeaderListSize = limits.maxHeaderListSize
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderFieldCount
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
        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: .milliseconds(requestTimeoutMs), logger: logger))
        try pipeline.addHandler(
            WebhookChannelHandler(endpoint: endpoint, requestTimeoutMs: requestTimeoutMs) { channel in
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
            try await writer.write(response: response.head, body: response.body)
        }
    }
}

/// A connection handed to the router, as Hummingbird's HTTP/1 handling takes it.
private typealias RouterConnection = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
