import ArgumentParser
import Dispatch
import HooklineConfig
import HooklineGateway
import HooklineWebhooks
import Hummingbird
import Logging

/// The gateway's own HTTP stack (same server, same event-loop webhook handler, body read the same
/// way) answering 202 at once: what the gateway could do if verifying and publishing were free.
/// With `--router`, the same through Hummingbird's server and router instead: the way the gateway
/// answered webhooks before its event-loop handler (what that handler leaves to the router goes
/// through the same HTTP/1 handling and router, on a connection handed to a task).
struct HTTPCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-ceiling",
        abstract: "Serve POST /webhooks/:source with an immediate 202 on the gateway's HTTP stack."
    )

    @Option(help: "HOST:PORT to listen on.") var listen = "127.0.0.1:8080"
    @Option(help: "Largest body collected, as the gateway's max_body_bytes.") var maxBodyBytes = 1_048_576
    @Flag(help: "Suspend each request until another thread resumes it, as the gateway's wait for a delivery report does (with no broker behind it).")
    var resumeFromThread = false
    @Option(help: "Verify each request as a GitHub delivery signed with this secret (the gateway's verifier), answering 401 when it fails.")
    var verifyGithub: String?
    @Flag(help: "Answer through Hummingbird's router (a Swift task per connection) instead of the event-loop webhook handler.")
    var router = false

    func run() async throws {
        let address = try ListenAddress(self.listen)
        var logger = Logger(label: "hookline.bench.http-ceiling")
        logger.logLevel = .warning
        let router = Router()
        let limit = self.maxBodyBytes
        let resumer = self.resumeFromThread ? DispatchQueue(label: "hookline.bench.resumer") : nil
        let verifier = try self.verifyGithub.map { try WebhookProviders.makeVerifier(provider: "github", configuration: ProviderConfiguration(secrets: [$0])) }
        router.post("/webhooks/:source") { request, _ -> Response in
            let body = try await request.body.collect(upTo: limit)
            if let verifier {
                let webhook = WebhookRequest(headerFields: request.headers, body: Array(body.readableBytesView), now: 0)
                guard (try? verifier.verify(webhook)) != nil else { return Response(status: .unauthorized) }
            }
            if let resumer {
                await withUnsafeContinuation { continuation in resumer.async { continuation.resume() } }
            }
            return Response(status: .accepted)
        }
        let endpoint = WebhookEndpoint(maxBodyBytes: limit, serves: { _ in true }) { _, incoming, reply in
            if let verifier {
                let webhook = WebhookRequest(headerFields: incoming.headerFields, body: Array(incoming.body.readableBytesView), now: 0)
                guard (try? verifier.verify(webhook)) != nil else { return reply(GatewayReply(status: .unauthorized)) }
            }
            if let resumer {
                resumer.async { reply(GatewayReply(status: .accepted)) }
            } else {
                reply(GatewayReply(status: .accepted))
            }
        }
        guard self.router else {
            let defaults = GatewaySection()
            let limits = GatewayServer.Limits(defaults, maxConnections: defaults.maxConnections)
            let server = GatewayServer(address: address, webhooks: endpoint, router: router, limits: limits, logger: logger)
            return try await server.run()  // until the benchmark kills it
        }
        let application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(10))),
            configuration: .init(address: .hostname(address.host, port: address.port)),
            logger: logger
        )
        try await application.runService()
    }
}
