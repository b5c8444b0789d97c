import ArgumentParser
import HooklineConfig
import HooklineGateway
import Hummingbird
import Logging

/// The gateway's own HTTP stack (same Hummingbird server, same router shape, body collected the
/// same way) answering 202 at once: what the gateway could do if verifying and publishing were free.
struct HTTPCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-ceiling",
        abstract: "Serve POST /webhooks/:source with an immediate 202 on the gateway's HTTP stack."
    )

    @Option(help: "HOST:PORT to listen on.") var listen = "127.0.0.1:8080"
    @Option(help: "Largest body collected, as the gateway's max_body_bytes.") var maxBodyBytes = 1_048_576

    func run() async throws {
        let address = try ListenAddress(self.listen)
        var logger = Logger(label: "hookline.bench.http-ceiling")
        logger.logLevel = .warning
        let router = Router()
        let limit = self.maxBodyBytes
        router.post("/webhooks/:source") { request, _ -> Response in
            _ = try await request.body.collect(upTo: limit)
            return Response(status: .accepted)
        }
        let application = Application(
            router: router,
            server: GatewayApplication.server(requestTimeoutMs: 10_000),
            configuration: .init(address: .hostname(address.host, port: address.port)),
            logger: logger
        )
        try await application.runService()
    }
}
