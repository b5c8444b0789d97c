import ArgumentParser
import Foundation
import GRDB
import HooklineConfig
import HooklineConsumerKit
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs one consumer service: its consumer (the kit's ``ConsumerRunner``), its HTTP API with
/// `/healthz`, `/readyz` and `/metrics`, and for `ci` the build trigger. SIGTERM stops the HTTP
/// side, lets the consumer finish and record its batch, and exits 0.
public enum ConsumerServiceApplication {
    /// The services this package knows, by name. A fourth service is one file plus one line here.
    public static let catalog: [String: Definition] = [
        "orders": Definition(defaultListen: "127.0.0.1:8091", make: { OrdersService.make(prefix: $1) }, routes: OrdersService.routes),
        "payments": Definition(defaultListen: "127.0.0.1:8092", make: { PaymentsService.make(prefix: $1) }, routes: PaymentsService.routes),
        "ci": Definition(defaultListen: "127.0.0.1:8093", make: { CIService.make(prefix: $1, triggers: $0.triggerURL != nil) }, routes: CIService.routes),
    ]

    public struct Definition: Sendable {
        public var defaultListen: String
        /// The service from its section and the topic prefix its patterns start with.
        public var make: @Sendable (ServiceSection, String) -> ConsumerService
        public var routes: @Sendable (Router<BasicRequestContext>, any DatabaseReader) -> Void
    }

    /// Builds the service's runner and the services to run beside it, in start order.
    public static func build(
        name: String,
        configuration: HooklineConfiguration,
        listen: String? = nil,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> (runner: ConsumerRunner, services: [any Service]) {
        guard let definition = self.catalog[name] else {
            throw ConfigurationError("no consumer service named \(name); known: \(self.catalog.keys.sorted().joined(separator: ", "))")
        }
        let section = configuration.services[name] ?? ServiceSection()
        var service = definition.make(section, configuration.kafka.topicPrefix)
        if let topics = section.topics { service.topicPatterns = topics }
        let runner = try ConsumerRunner(
            service: service,
            configuration: ConsumerConfiguration(service: name, kafka: configuration.kafka, section: section),
            logger: logger
        )
        let router = Router()
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            runner.isReady
                ? Response.json(["status": "ready"])
                : Response.json(status: .serviceUnavailable, ["error": "not_ready", "message": "The consumer has no partitions assigned yet."])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: runner.metrics.render())))
        }
        definition.routes(router, runner.reader)
        let address = try ListenAddress(listen ?? section.listen ?? definition.defaultListen)
        let http = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? address.port) },
            logger: logger
        )
        var services: [any Service] = [runner]
        if let url = section.triggerURL, let writer = runner.reader as? any DatabaseWriter {
            services.append(CITrigger(url: url, writer: writer, logger: logger))
        }
        services.append(http)
        return (runner, services)
    }

    public static func run(name: String, configuration: HooklineConfiguration, listen: String?, logger: Logger) async throws {
        let (_, services) = try self.build(name: name, configuration: configuration, listen: listen, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// `hookline-<service> --config PATH [--listen HOST:PORT]`, shared by the service executables.
public struct ConsumerServiceOptions: ParsableCommand {
    /// Named as the executable was run (`hookline-orders`, …): one type serves every service.
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: URL(fileURLWithPath: CommandLine.arguments.first ?? "hookline-service").lastPathComponent,
            abstract: "A Hookline consumer service: applies its webhook events exactly once in effect to its own SQLite database, and serves its API with /healthz, /readyz and /metrics."
        )
    }

    @Option(help: "Configuration file (default: $HOOKLINE_CONFIG, else deploy/hookline.yaml if present).") var config: String?
    @Option(help: "HOST:PORT for the HTTP API, overriding services.<name>.listen.") var listen: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: Logger.Level = .info

    public init() {}

    /// Parses the command line and runs the named service until SIGTERM.
    public static func main(service name: String) async {
        do {
            let options = try self.parse()
            var logger = Logger(label: "hookline.\(name)")
            logger.logLevel = options.logLevel
            do {
                let configuration = try HooklineConfiguration.load(commandLinePath: options.config)
                try await ConsumerServiceApplication.run(name: name, configuration: configuration, listen: options.listen, logger: logger)
            } catch let error as ConfigurationError {
                logger.critical("cannot start: \(error.message)")
                Foundation.exit(78)
            }
        } catch {
            self.exit(withError: error)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
