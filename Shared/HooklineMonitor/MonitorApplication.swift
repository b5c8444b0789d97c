import Foundation
import HooklineConfig
import HooklineHTTP
import HooklineKafka
import HooklineLag
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Builds and runs `hookline-monitor`: a poller judging consumer lag every interval, and an HTTP
/// server with the page (`/`), its data (`/api/status`), `/metrics`, `/healthz` and `/readyz`
/// (503 until a snapshot succeeds, and again while none has for three intervals).
package enum MonitorApplication {
    /// - Parameter onServerRunning: called with the bound port once the server listens (tests bind port 0).
    package static func build(
        kafka: KafkaSection,
        configuration: MonitorConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (address, cluster) = try self.prepare(kafka: kafka, configuration: configuration)
        let requestTimeout = Self.requestTimeout(configuration)
        let admin = try KafkaAdmin(configuration: cluster, requestTimeout: requestTimeout, logger: logger)
        let state = MonitorState(interval: configuration.interval)
        let poller = MonitorPoller(
            reader: LagReader(admin: admin),
            recordTimes: RecordTimes(kafka: cluster, timeout: requestTimeout, logger: logger),
            configuration: configuration,
            state: state,
            logger: logger
        )
        logger.info(
            "monitor configured",
            metadata: [
                "kafka.bootstrap": "\(kafka.brokers)",
                "hookline.interval_seconds": "\(configuration.interval.inSeconds)",
                "hookline.window_seconds": "\(configuration.window.inSeconds)",
                "hookline.gateways": "\(configuration.gateways.count)",
            ]
        )
        return Application(
            router: self.router(state),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            services: [poller],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? address.port) },
            logger: logger
        )
    }

    /// Checks everything the monitor would start with, without contacting the broker, a gateway
    /// or listening: the listen address, the gateway URLs and `kafka.properties` as librdkafka
    /// takes them. Returns what it would watch, one line each (`hookline-monitor --check`).
    package static func check(kafka: KafkaSection, configuration: MonitorConfiguration) throws(ConfigurationError) -> [String] {
        let (address, _) = try self.prepare(kafka: kafka, configuration: configuration)
        var lines = [
            "listen \(address)",
            "kafka \(kafka.brokers) (not contacted), a look every \(configuration.interval.inSeconds.formatted()) s, statuses judged over \(configuration.window.inSeconds.formatted()) s",
        ]
        if !configuration.knownGroups.isEmpty {
            lines.append("groups watched besides those the cluster lists: \(configuration.knownGroups.joined(separator: ", "))")
        }
        lines.append(configuration.gateways.isEmpty ? "no gateway traffic read" : "gateway traffic read from \(configuration.gateways.joined(separator: ", "))")
        return lines
    }

    /// What both starting and checking need first: the address, and settings that would
    /// otherwise stop the monitor only once running or fail every look (checked before any client
    /// connects, so a mistake stops start-up at once with exit 78).
    private static func prepare(kafka: KafkaSection, configuration: MonitorConfiguration) throws(ConfigurationError) -> (ListenAddress, KafkaConfiguration) {
        let address = try ListenAddress(configuration.listen)
        // The file's own rules hold whole seconds; --interval and --window take fractions (tests
        // look every half second), but a look every millisecond would hammer the cluster.
        if configuration.interval < .milliseconds(100) {
            throw ConfigurationError("monitor.interval_seconds (or --interval) must be at least 0.1 s")
        }
        if configuration.window < configuration.interval {
            throw ConfigurationError("monitor.window_seconds (or --window) must be at least monitor.interval_seconds (or --interval): a status is judged over several looks")
        }
        for gateway in configuration.gateways {
            if let problem = GatewayAddresses.problem(with: gateway) {
                throw ConfigurationError("monitor.gateways (or --gateway): \(problem)")
            }
        }
        let cluster = KafkaConfiguration(bootstrapServers: kafka.brokers, clientID: "hookline-monitor", properties: kafka.properties)
        do {
            try KafkaAdmin.validate(cluster)
            // The consumer that reads records' timestamps for time lag.
            try KafkaRangeReader(kafka: cluster, logger: Logger(label: "hookline.monitor.check")).configuration.validate()
        } catch {
            throw ConfigurationError("kafka.properties: \(error.message)")
        }
        return (address, cluster)
    }

    /// How long one admin request may take: within a look, at least 2 s.
    private static func requestTimeout(_ configuration: MonitorConfiguration) -> Duration {
        min(Duration.seconds(10), max(configuration.interval, .seconds(2)))
    }

    /// Runs until SIGTERM or SIGINT, then stops polling and serving and returns (exit 0).
    package static func run(kafka: KafkaSection, configuration: MonitorConfiguration, logger: Logger) async throws {
        let application = try self.build(kafka: kafka, configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    static func router(_ state: MonitorState) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: MonitorPage.html)))
        }
        router.get("/api/status") { request, _ in
            var status = state.status
            status.servedAt = Date()
            // `?since=T`: chart points after T only (the page asks with its last report's time
            // and keeps what it has; a full report at 300 topics is over a megabyte).
            if let since = request.uri.queryParameters.get("since") {
                guard let seconds = Double(since), seconds.isFinite else {
                    return Self.json(.badRequest, #"{"error":"bad_query","message":"since must be a time in Unix seconds."}"#)
                }
                status.lag = status.lag?.chartPoints(after: seconds)
            }
            let data = (try? LagReport.encoder().encode(status)) ?? Data(#"{"error":"encoding_failed"}"#.utf8)
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: state.metrics)))
        }
        router.get("/healthz") { _, _ in
            Self.json(.ok, #"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ in
            guard let reason = state.notReadyReason() else { return Self.json(.ok, #"{"status":"ready"}"#) }
            let body = (try? JSONSerialization.data(withJSONObject: ["error": "not_ready", "message": reason], options: [.sortedKeys])) ?? Data()
            return Self.json(.serviceUnavailable, String(decoding: body, as: UTF8.self))
        }
        return router
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
