import Foundation
import HooklineConfig
import HooklineHTTP
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Builds and runs `hookline-gateway`.
package enum GatewayApplication {
    /// Builds the gateway from configuration: resolves every source's secrets, creates the
    /// producer, and returns the application, ready to run as a `Service`.
    ///
    /// - Parameters:
    ///   - listen: `HOST:PORT`, overriding `gateway.listen` (several replicas share one file).
    ///   - reload: when given, each signal in it reloads `sources:` from what `load` returns
    ///     (``ConfigurationReloader``).
    ///   - onServerRunning: called with the bound port once the server listens (tests bind port 0).
    ///   - maxPublicKeyChecks: how many deliveries to public-key sources may await their checks
    ///     at once (``Gateway/maxPublicKeyChecks``); the default scales with the cores.
    package static func build(
        configuration: HooklineConfiguration,
        listen: String? = nil,
        secrets: SecretResolver = SecretResolver(),
        logger: Logger,
        reload: (signals: UnixSignalsSequence, load: @Sendable () throws(ConfigurationError) -> HooklineConfiguration)? = nil,
        maxPublicKeyChecks: Int? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some Service {
        let (address, sources) = try self.prepare(configuration, listen: listen, secrets: secrets)
        let kafka = KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "hookline-gateway", properties: configuration.kafka.properties)
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let readinessAdmin = try KafkaAdmin(configuration: kafka, requestTimeout: .seconds(2), logger: logger)
        let replicaID = configuration.gateway.replicaID ?? "\(ProcessInfo.processInfo.hostName):\(address.port)"
        let publisher = try WebhookPublisher(
            configuration: configuration,
            ackTimeouts: Set(sources.values.map(\.ackTimeoutMs)),
            replicaID: replicaID,
            admin: admin,
            logger: logger
        )
        let gateway = Gateway(
            sources: sources,
            publisher: publisher,
            metrics: GatewayMetrics(),
            readiness: Readiness(admin: readinessAdmin) { publisher.recoverProducer() },
            maxBodyBytes: configuration.gateway.maxBodyBytes,
            logger: logger,
            maxPublicKeyChecks: maxPublicKeyChecks ?? Gateway.defaultMaxPublicKeyChecks
        )
        if let message = configuration.kafka.unfamiliarTopicConfigMessage {
            logger.warning("\(message)")
        }
        GatewaySource.warnOfUnlistedEvents(sources, logger: logger)
        logger.info(
            "gateway configured",
            metadata: [
                "hookline.sources": "\(GatewaySource.summary(sources))",
                "kafka.bootstrap": "\(configuration.kafka.brokers)",
                "hookline.replica": "\(replicaID)",
            ]
        )
        // A service group shuts its services down last first: the server before the reloader.
        var services: [any Service] = []
        if let reload {
            services.append(
                ConfigurationReloader(gateway: gateway, started: configuration, load: reload.load, secrets: secrets, signals: reload.signals, logger: logger)
            )
        }
        let server = GatewayServer(
            address: address,
            webhooks: gateway.endpoint,
            router: self.router(gateway),
            limits: .init(
                configuration.gateway,
                maxConnections: FileDescriptorLimit.connections(configured: configuration.gateway.maxConnections, logger: logger)
            ),
            metrics: gateway.metrics,
            logger: logger,
            onServerRunning: onServerRunning
        )
        services.append(server)
        return GatewayService(
            services: services, publisher: publisher, flushTimeout: .milliseconds(configuration.gateway.shutdownGraceMs),
            beforeFlushing: { server.announceShutdown() }, logger: logger
        )
    }

    /// Checks everything the gateway would start with, without contacting the broker or
    /// listening: the listen address, every source's provider settings and secrets (`${ENV}`
    /// and `file:` resolved), and `kafka.properties` as librdkafka takes them. Returns what it
    /// would serve, one line each, with no secret in it (`hookline-gateway --check`).
    package static func check(
        configuration: HooklineConfiguration,
        listen: String? = nil,
        secrets: SecretResolver = SecretResolver()
    ) throws(ConfigurationError) -> [String] {
        let (address, sources) = try self.prepare(configuration, listen: listen, secrets: secrets)
        let kafka = configuration.kafka
        // What start-up would allow: the soft open-file limit is raised to the hard one first.
        let configured = configuration.gateway.maxConnections
        var connections = "at most \(configured) connections"
        if let limit = OpenFileLimit.hardLimit() {
            let allowed = FileDescriptorLimit.connections(configured: configured, openFileLimit: limit)
            if allowed < configured {
                connections = "at most \(allowed) connections (gateway.max_connections \(configured), fewer for the open-file limit \(limit))"
            }
        }
        var topics = "topics \(kafka.topicPrefix).<source>.<event>, \(kafka.partitions) partitions, replication "
        topics += kafka.replicationFactor == -1 ? "the cluster's default" : String(kafka.replicationFactor)
        if !kafka.topicConfig.isEmpty {
            topics += ", topic config " + kafka.topicConfig.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        var lines = [
            "listen \(address), max body \(configuration.gateway.maxBodyBytes) bytes, \(connections)",
            "kafka \(kafka.brokers) (not contacted), \(topics)",
        ]
        if let warning = kafka.unfamiliarTopicConfigWarning { lines.append(warning) }
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            let section = configuration.sources[name]!
            var keys: [String] = []
            for (count, kind) in [(section.secrets.count, "secret"), (section.publicKeys.count, "public key"), (section.signingTokens.count, "signing token")] where count > 0 {
                keys.append("\(count) \(kind)\(count == 1 ? "" : "s")")
            }
            var line = "POST /webhooks/\(name): \(source.provider), \(keys.joined(separator: ", ")), ack timeout \(source.ackTimeoutMs) ms"
            if let limit = section.rateLimitPerSecond { line += ", at most \(limit) requests/s" }
            if let events = source.events { line += ", topics for \(events.sorted().joined(separator: ", ")) (others to unknown)" }
            lines.append(line)
            if let message = source.unlistedEventsMessage { lines.append("warning: " + message) }
        }
        return lines
    }

    /// What both starting and checking need first: the address, the sources with their secrets
    /// resolved, and the producer's properties accepted by librdkafka (checked before any client
    /// connects, so a mistake there stops start-up at once and quietly).
    private static func prepare(
        _ configuration: HooklineConfiguration,
        listen: String?,
        secrets: SecretResolver
    ) throws(ConfigurationError) -> (ListenAddress, [String: GatewaySource]) {
        let address = try ListenAddress(listen ?? configuration.gateway.listen)
        let sources = try GatewaySource.makeAll(configuration, secrets: secrets)
        let producer = WebhookPublisher.producerConfiguration(configuration, ackTimeouts: Set(sources.values.map(\.ackTimeoutMs)))
        do {
            try producer.validate()
        } catch {
            throw ConfigurationError("kafka.properties: \(error.message)")
        }
        // A body the gateway reads whole must fit the producer: one it cannot send would be read,
        // verified and then refused by every gateway, each time the provider sends it again.
        if let limit = WebhookPublisher.recordLimit(of: producer), limit < configuration.gateway.largestRecordBytes {
            throw ConfigurationError(
                "kafka.properties.message.max.bytes (\(limit)) is below the largest record the gateway accepts, gateway.max_body_bytes + 65536 = \(configuration.gateway.largestRecordBytes): raise it or lower gateway.max_body_bytes"
            )
        }
        return (address, sources)
    }

    /// Runs the gateway until SIGTERM or SIGINT, then stops accepting, lets in-flight requests
    /// get their acknowledgements (within `gateway.shutdown_grace_ms`), flushes and returns.
    /// SIGHUP reloads `sources:` from what `load` returns (the configuration file, read again).
    package static func run(
        configuration: HooklineConfiguration,
        listen: String?,
        reloadingWith load: @escaping @Sendable () throws(ConfigurationError) -> HooklineConfiguration,
        logger: Logger
    ) async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let application = try self.build(configuration: configuration, listen: listen, logger: logger, reload: (hangups, load))
        var groupConfiguration = ServiceGroupConfiguration(
            services: [application],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(configuration.gateway.shutdownGraceMs + 2000)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
    }

    static func router(_ gateway: Gateway) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: WebhookMethodMiddleware(gateway: gateway))
        router.post("/webhooks/:source") { request, context in
            await gateway.receive(request, context: context)
        }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/readyz") { _, _ in
            switch await gateway.readiness.check() {
            case .ready:
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
            case .brokerUnreachable:
                Response.jsonError(.serviceUnavailable, code: "broker_unreachable", message: "The Kafka cluster does not answer.")
            case .producerFailed(let code):
                Response.jsonError(
                    .serviceUnavailable,
                    code: "producer_failed",
                    message: "The Kafka producer failed (\(code)); it is replaced by a new one, at once the first time and with a growing wait while the error comes back."
                )
            }
        }
        router.get("/metrics") { _, _ in
            // What /readyz answered last, without waiting on a silent broker.
            let ready = await gateway.readiness.lastVerdict() == .ready
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: gateway.metrics.render(recordsInFlight: gateway.publisher.recordsInFlight, ready: ready)))
            )
        }
        return router
    }
}
