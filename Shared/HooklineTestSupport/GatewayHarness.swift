import AsyncHTTPClient
import Foundation
import HTTPTypes
import HooklineConfig
import HooklineGateway
import HooklineKafka
import HooklineWebhooks
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A gateway running in this process on a free loopback port (of 127.0.0.1 unless told another
/// address), in its own service group.
package final class RunningGateway: Sendable {
    package let host: String
    package let port: Int
    package let configuration: HooklineConfiguration
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    package var baseURL: String { "http://\(self.host):\(self.port)" }

    private init(host: String, port: Int, configuration: HooklineConfiguration, group: ServiceGroup, task: Task<Void, any Error>) {
        self.host = host
        self.port = port
        self.configuration = configuration
        self.group = group
        self.task = task
    }

    package static func start(
        _ configuration: HooklineConfiguration,
        secrets: SecretResolver = SecretResolver(environment: [:]),
        logger: Logger = TestKafka.logger,
        maxPublicKeyChecks: Int? = nil,
        listen: String = "127.0.0.1:0"
    ) async throws -> RunningGateway {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = try GatewayApplication.build(
            configuration: configuration,
            listen: listen,
            secrets: secrets,
            logger: logger,
            maxPublicKeyChecks: maxPublicKeyChecks,
            onServerRunning: { port in continuation.yield(port) }
        )
        let group = ServiceGroup(services: [application], logger: TestKafka.logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw EmbeddedBrokerError(message: "the gateway did not start") }
        let host = String(listen[..<(listen.lastIndex(of: ":") ?? listen.endIndex)])
        return RunningGateway(host: host, port: port, configuration: configuration, group: group, task: task)
    }

    package func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
    }
}

/// A minimal configuration: the test's broker, a unique topic prefix, and the given sources.
package func gatewayConfiguration(broker: EmbeddedBroker, sources: [String: SourceSection], ackTimeoutMs: Int = 5000) -> HooklineConfiguration {
    var configuration = HooklineConfiguration()
    configuration.kafka.brokers = broker.bootstrapServers
    configuration.kafka.topicPrefix = TestKafka.uniqueName("wh")
    configuration.kafka.partitions = 3
    configuration.kafka.sessionTimeoutMs = 6000
    configuration.gateway.ackTimeoutMs = ackTimeoutMs
    configuration.gateway.maxBodyBytes = 64 * 1024
    configuration.sources = sources
    return configuration
}

package func source(_ provider: String, secrets: [String] = [], configure: (inout SourceSection) -> Void = { _ in }) -> SourceSection {
    var section = SourceSection(provider: provider)
    section.secrets = secrets
    configure(&section)
    return section
}

/// A source for `provider` carrying a sample's non-secret settings (URL, header names, pointers).
package func source(_ provider: String, settings: ProviderConfiguration) -> SourceSection {
    var section = SourceSection(provider: provider)
    section.verification = settings
    return section
}

/// A response with its body read.
package struct TestResponse: Sendable {
    package var status: Int
    package var headers: HTTPFields
    package var body: [UInt8]

    package var text: String { String(decoding: self.body, as: UTF8.self) }
    package var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(self.body))) as? [String: Any] }
}

/// Sends one request over real HTTP.
package func httpRequest(
    _ method: HTTPMethod = .POST,
    _ url: String,
    headers: HTTPFields = [:],
    body: [UInt8]? = nil,
    timeout: TimeAmount = .seconds(30)
) async throws -> TestResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for field in headers {
        request.headers.add(name: field.name.rawName, value: field.value)
    }
    if let body { request.body = .bytes(body) }
    let response = try await HTTPClient.shared.execute(request, timeout: timeout)
    let collected = try await response.body.collect(upTo: 10 * 1024 * 1024)
    var fields = HTTPFields()
    for (name, value) in response.headers {
        if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
    }
    return TestResponse(status: Int(response.status.code), headers: fields, body: Array(collected.readableBytesView))
}

/// Signs `body` as `provider` would and posts it to the gateway's source.
package func post(
    _ gateway: RunningGateway,
    source: String,
    provider: String,
    secret: String? = nil,
    privateKey: String? = nil,
    body: [UInt8],
    event: String? = nil,
    id: String? = nil,
    key: String? = nil,
    timestamp: Int64 = Int64(Date().timeIntervalSince1970),
    query: String? = nil,
    mutate: (inout HTTPFields, inout [UInt8]) -> Void = { _, _ in }
) async throws -> TestResponse {
    let section = gateway.configuration.sources[source]!
    let signed = try WebhookProviders.sign(
        provider: provider,
        WebhookSigningInput(
            secret: secret,
            privateKey: privateKey,
            body: body,
            event: event,
            id: id,
            key: key,
            timestamp: timestamp,
            url: section.publicURL.map { url in query.map { "\(url)?\($0)" } ?? url },
            configuration: section.providerConfiguration()
        )
    )
    var headers = signed.headerFields
    var body = body
    mutate(&headers, &body)
    // Twilio JSON deliveries carry bodySHA256 in the query the signer added to the URL.
    var path = "\(gateway.baseURL)/webhooks/\(source)"
    if let signedURL = signed.url, let queryStart = signedURL.firstIndex(of: "?") {
        path += String(signedURL[queryStart...])
    }
    return try await httpRequest(.POST, path, headers: headers, body: body)
}

/// The gateway's `hookline_gateway_records_in_flight`, from its `/metrics`.
package func recordsInFlight(at baseURL: String) async throws -> Double? {
    let text = try await httpRequest(.GET, "\(baseURL)/metrics").text
    let line = text.split(separator: "\n").first { $0.hasPrefix("hookline_gateway_records_in_flight ") }
    return line.flatMap { Double($0.split(separator: " ")[1]) }
}

/// Every record of a topic, read from the beginning by a fresh group (empty when the topic does not exist).
package func records(in topic: String, broker: EmbeddedBroker, expect count: Int, timeout: Duration = .seconds(20)) async throws -> [KafkaConsumerMessage] {
    let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: TestKafka.uniqueName("check")), logger: TestKafka.logger)
    try consumer.subscribe(topics: [topic])
    var messages: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count, ContinuousClock.now < deadline {
        messages += await consumer.nextBatch(timeout: deadline - ContinuousClock.now)
    }
    await consumer.close()
    return messages
}

/// How many records the topics with this prefix hold in all (0 when none exist).
package func recordCount(prefix: String, broker: EmbeddedBroker) async throws -> Int64 {
    let admin = try TestKafka.admin(broker)
    let topics = try await admin.listTopics().filter { $0.name.hasPrefix(prefix + ".") }
    let marks = try await admin.watermarks(topics: topics, isolationLevel: .readUncommitted)
    return marks.values.reduce(0) { $0 + $1.end - $1.earliest }
}

extension [KafkaHeader] {
    package func string(_ key: String) -> String? { self.first(key)?.stringValue }
}

/// Posts `chunks` × `chunkSize` bytes with no Content-Length (chunked) and returns the status.
package func sendStreamed(_ url: String, chunks: Int, chunkSize: Int) async throws -> Int {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    let stream = AsyncStream<ByteBuffer> { continuation in
        for _ in 0..<chunks { continuation.yield(ByteBuffer(repeating: UInt8(ascii: "a"), count: chunkSize)) }
        continuation.finish()
    }
    request.body = .stream(stream, length: .unknown)
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    return Int(response.status.code)
}
