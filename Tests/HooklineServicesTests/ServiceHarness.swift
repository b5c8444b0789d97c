import Foundation
import HooklineConfig
import HooklineConsumerKit
import HooklineServices
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import ServiceLifecycle

/// A consumer service running in this process, its HTTP API on a free loopback port.
final class RunningService: Sendable {
    let port: Int
    let runner: ConsumerRunner
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    private init(port: Int, runner: ConsumerRunner, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.runner = runner
        self.group = group
        self.task = task
    }

    static func start(_ name: String, configuration: HooklineConfiguration) async throws -> RunningService {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let (runner, services) = try ConsumerServiceApplication.build(
            name: name,
            configuration: configuration,
            listen: "127.0.0.1:0",
            logger: TestKafka.logger,
            onServerRunning: { continuation.yield($0) }
        )
        let group = ServiceGroup(services: services, logger: TestKafka.logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw EmbeddedBrokerError(message: "\(name) did not start") }
        return RunningService(port: port, runner: runner, group: group, task: task)
    }

    func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
    }

    /// GETs `path` until `done` holds for its JSON, or fails after `timeout`.
    func waitFor(_ path: String, timeout: Duration = .seconds(30), until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            let response = try await httpRequest(.GET, self.baseURL + path)
            if let json = response.json {
                last = json
                if done(json) { return json }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EmbeddedBrokerError(message: "\(path) never reached the expected state; last: \(last)")
    }
}

/// A gateway with one source per provider the services consume (shopify, stripe, the generic
/// shop backend, github, gitlab), and the services' sections, all on a fresh topic prefix.
func systemConfiguration(broker: EmbeddedBroker, directory: URL) -> HooklineConfiguration {
    var configuration = gatewayConfiguration(broker: broker, sources: [:])
    for provider in ["shopify", "stripe", "hmac-sha256", "github", "gitlab"] {
        var section = source(provider, settings: WebhookSamples.samples(provider: provider).first!.configuration)
        section.secrets = ["secret-\(provider)"]
        configuration.sources[provider] = section
    }
    for name in ["orders", "payments", "ci"] {
        var section = ServiceSection()
        section.group = TestKafka.uniqueName(name)
        section.database = directory.appendingPathComponent("\(name).sqlite").path
        configuration.services[name] = section
    }
    return configuration
}

func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("services"))
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Posts a sample through the gateway, signed as its provider would; returns the HTTP status.
/// To the source named after the provider, whose secret is `secret-<source>`, unless `source` names another.
@discardableResult
func deliver(_ sample: WebhookSample, to gateway: RunningGateway, source: String? = nil, body: [UInt8]? = nil, id: String? = nil) async throws -> Int {
    let source = source ?? sample.provider
    var input = sample.signingInput(secret: "secret-\(source)", timestamp: Int64(Date().timeIntervalSince1970))
    if let body { input.body = body }
    if let id { input.id = id }
    let signed = try WebhookProviders.sign(provider: sample.provider, input)
    return try await httpRequest(.POST, "\(gateway.baseURL)/webhooks/\(source)", headers: signed.headerFields, body: input.body).status
}

/// `hookline-orders` as its own process on a loopback port of its choosing (``listeningPort(of:within:)``), its output in `log`.
func startOrders(config: String, logLevel: String = "warning", log: URL) throws -> Process {
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try builtExecutable("hookline-orders"))
    process.arguments = ["--config", config, "--listen", "127.0.0.1:0", "--log-level", logLevel]
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}
