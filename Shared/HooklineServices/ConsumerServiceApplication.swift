import ArgumentParser
import Foundation
import GRDB
import HooklineConfig
import HooklineConsumerKit
import HooklineHTTP
import HooklineKafka
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs one consumer service: its consumer (the kit's ``ConsumerRunner``), its HTTP API with
/// `/healthz`, `/readyz` and `/metrics`, and what the service runs beside them (the CI service's
/// build trigger). SIGTERM stops the HTTP side, lets the consumer finish and record its batch, and
/// exits 0.
package enum ConsumerServiceApplication {
    /// The services this package knows, by name. A fourth service is its file, a line here, and
    /// its executable (docs/adding-a-consumer.md).
    package static let catalog: [String: Definition] = [
        "orders": Definition(defaultListen: "127.0.0.1:8091", make: { OrdersService.make(prefix: $1) }, routes: OrdersService.routes),
        "payments": Definition(defaultListen: "127.0.0.1:8092", make: { PaymentsService.make(prefix: $1) }, routes: PaymentsService.routes),
        "ci": Definition(
            defaultListen: "127.0.0.1:8093",
            make: { CIService.make(prefix: $1, triggers: $0.triggerURL != nil) },
            routes: CIService.routes,
            beside: { section, writer, logger in section.triggerURL.map { [CITrigger(url: $0, writer: writer, logger: logger)] } ?? [] }
        ),
    ]

    package struct Definition: Sendable {
        package var defaultListen: String
        /// The service from its section and the topic prefix its patterns start with.
        package var make: @Sendable (ServiceSection, String) -> ConsumerService
        package var routes: @Sendable (Router<BasicRequestContext>, any DatabaseReader) -> Void
        /// What runs beside the consumer, on the service's database, from its section.
        package var beside: @Sendable (ServiceSection, any DatabaseWriter, Logger) -> [any Service] = { _, _, _ in [] }
    }

    /// Builds the service's runner and the services to run beside it, in start order.
    package static func build(
        name: String,
        configuration: HooklineConfiguration,
        listen: String? = nil,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> (runner: ConsumerRunner, services: [any Service]) {
        let prepared = try self.prepare(name: name, configuration: configuration, listen: listen)
        let (definition, section, address) = (prepared.definition, prepared.section, prepared.address)
        // The file is shared: a service of a newer release (its section added before this
        // instance's image was) must not stop this one. --check refuses it, as a misspelling.
        for unknown in prepared.unknownSections {
            logger.warning(
                "services.\(unknown): no consumer service of this build has that name; its section is left to the service that has it",
                metadata: ["hookline.known_services": "\(self.catalog.keys.sorted().joined(separator: ", "))"]
            )
        }
        let runner: ConsumerRunner
        do {
            runner = try ConsumerRunner(service: prepared.service, configuration: prepared.consumer, logger: logger)
        } catch {
            // Opening or migrating the database failed: a file it cannot use is a configuration to fix.
            throw ConfigurationError("services.\(name).database: cannot open \(prepared.consumer.databasePath): \(error)")
        }
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            runner.isReady
                ? Response.json(["status": "ready"])
                : Response.json(status: .serviceUnavailable, ["error": "not_ready", "message": "The consumer holds no partitions: not yet, none of its topics exists yet, or the group has more instances than partitions."])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: runner.metrics.render())))
        }
        definition.routes(router, runner.reader)
        let http = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? address.port) },
            logger: logger
        )
        return (runner, [runner] + definition.beside(section, runner.writer, logger) + [http])
    }

    /// Checks everything service `name` would start with, without contacting the broker, opening
    /// its database or listening: the listen address, the topic patterns, the librdkafka
    /// properties of its consumer and dead-letter producer, that its database exists as a writable
    /// file or can be created, and the CI trigger URL. Returns what it would run, one line each
    /// (`hookline-<service> --check`).
    package static func check(name: String, configuration: HooklineConfiguration, listen: String? = nil) throws(ConfigurationError) -> [String] {
        let prepared = try self.prepare(name: name, configuration: configuration, listen: listen)
        // A misspelt section would leave its settings unused and the service on its defaults.
        if let unknown = prepared.unknownSections.first {
            throw ConfigurationError("services.\(unknown): no consumer service has that name; known: \(self.catalog.keys.sorted().joined(separator: ", "))")
        }
        let consumer = prepared.consumer
        var lines = [
            "listen \(prepared.address)",
            "kafka \(configuration.kafka.brokers) (not contacted), group \(consumer.groupID), session timeout \(configuration.kafka.sessionTimeoutMs) ms",
            "topics \(prepared.service.subscription.joined(separator: " ")), dead letters to \(consumer.deadLetterTopic(service: name))",
            "database \(consumer.databasePath) (\(prepared.database)), batches of up to \(consumer.batchSize) events, \(consumer.maxAttempts) attempts an event, ids kept \(Int(consumer.dedupRetention.components.seconds / 3600)) h",
        ]
        if let url = prepared.section.triggerURL { lines.append("build jobs POSTed to \(url)") }
        if let warning = configuration.kafka.unfamiliarTopicConfigWarning { lines.append(warning) }
        return lines
    }

    /// What both starting and checking need first: the service, its address, and settings that
    /// would otherwise stop it only once running or fail every build trigger (checked before any
    /// client connects, so a mistake stops start-up at once with exit 78).
    private static func prepare(
        name: String,
        configuration: HooklineConfiguration,
        listen: String?
    ) throws(ConfigurationError) -> Prepared {
        guard let definition = self.catalog[name] else {
            throw ConfigurationError("no consumer service named \(name); known: \(self.catalog.keys.sorted().joined(separator: ", "))")
        }
        let section = configuration.services[name] ?? ServiceSection()
        var service = definition.make(section, configuration.kafka.topicPrefix)
        if let topics = section.topics { service.topicPatterns = topics }
        let address = try ListenAddress(listen ?? section.listen ?? definition.defaultListen)
        let consumer = ConsumerConfiguration(service: name, kafka: configuration.kafka, section: section)
        do {
            try service.validateTopics()
        } catch {
            throw ConfigurationError("services.\(name).topics: \(error.message)")
        }
        do {
            try consumer.validate()
        } catch {
            throw ConfigurationError("kafka.properties: \(error.message)")
        }
        if let url = section.triggerURL {
            _ = try URL.http(url, field: "services.\(name).trigger_url")
        }
        let database = try self.checkDatabase(consumer.databasePath, field: "services.\(name).database")
        return Prepared(
            definition: definition, section: section, service: service, consumer: consumer, address: address, database: database,
            unknownSections: configuration.services.keys.sorted().filter { self.catalog[$0] == nil }
        )
    }

    private struct Prepared {
        var definition: Definition
        var section: ServiceSection
        var service: ConsumerService
        var consumer: ConsumerConfiguration
        var address: ListenAddress
        /// Whether the database exists or is to be created.
        var database: String
        /// Sections of `services:` that no service of this build has.
        var unknownSections: [String]
    }

    /// Whether the database at `path` exists (and is a writable file) or can be created: its
    /// nearest existing ancestor is a writable directory. Says which, for `--check`.
    private static func checkDatabase(_ path: String, field: String) throws(ConfigurationError) -> String {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw ConfigurationError("\(field): \(path) is a directory") }
            guard manager.isWritableFile(atPath: path) else { throw ConfigurationError("\(field): \(path) is not writable") }
            return "exists"
        }
        var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
        while !manager.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.path != "/" {
            ancestor.deleteLastPathComponent()
        }
        guard isDirectory.boolValue else { throw ConfigurationError("\(field): cannot create \(path): \(ancestor.path) is not a directory") }
        guard manager.isWritableFile(atPath: ancestor.path) else {
            throw ConfigurationError("\(field): cannot create \(path): \(ancestor.path) is not writable")
        }
        return "to be created"
    }

    package static func run(name: String, configuration: HooklineConfiguration, listen: String?, logger: Logger) async throws {
        let (_, services) = try self.build(name: name, configuration: configuration, listen: listen, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// `hookline-<service> --config PATH [--listen HOST:PORT]`, shared by the service executables.
package struct ConsumerServiceOptions: ParsableCommand {
    /// Named as the executable was run (`hookline-orders`, …): one type serves every service.
    package static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: URL(fileURLWithPath: CommandLine.arguments.first ?? "hookline-service").lastPathComponent,
            abstract: "A Hookline consumer service: applies its webhook events exactly once in effect to its own SQLite database, and serves its API with /healthz, /readyz and /metrics."
        )
    }

    @OptionGroup var options: ProcessOptions
    @Option(help: "HOST:PORT for the HTTP API, overriding services.<name>.listen.") var listen: String?
    @Flag(help: "Check the configuration (address, topics, Kafka properties, database, trigger URL) without starting; exit 0 when it would start, 78 when not.")
    var check = false

    package init() {}

    /// Parses the command line and runs the named service until SIGTERM.
    package static func main(service name: String) async {
        do {
            let command = try self.parse()
            let listen = command.listen
            try await command.options.run(label: "hookline.\(name)", check: command.check) { configuration throws(ConfigurationError) in
                try ConsumerServiceApplication.check(name: name, configuration: configuration, listen: listen)
            } starting: { configuration, logger in
                try await ConsumerServiceApplication.run(name: name, configuration: configuration, listen: listen, logger: logger)
            }
        } catch {
            self.exit(withError: error)
        }
    }
}
