import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRDB
import HooklineKafka
import HooklineWebhooks
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// `make chaos`: signed webhooks through the load balancer while one gateway replica is
/// SIGKILLed, then proof that nothing acknowledged was lost: every 2xx is in Kafka and
/// applied by the orders service.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send signed orders through the load balancer, SIGKILL one gateway midway, check every acknowledged one in Kafka and in orders."
    )

    @Option(help: "Where the load goes (the load balancer's legacy source).") var url = "http://127.0.0.1:8080/webhooks/legacy"
    @Option(help: "The legacy source's HMAC secret.") var secret: String
    @Option(help: "bootstrap.servers") var brokers: String
    @Option(help: "The topic the orders land in.") var topic = "webhooks.legacy.new_order"
    @Option(help: "The orders service's SQLite database.") var ordersDatabase: String
    @Option(help: "Requests to send.") var count = 4000
    @Option(help: "Connections sending at once.") var concurrency = 16
    @Option(help: "PID of the gateway replica to SIGKILL.") var kill: Int32
    @Option(help: "SIGKILL after this many requests were sent.") var killAfter = 1000
    @Option(help: "Seconds to wait for Kafka and the orders service to show every acknowledged order.") var settle = 60

    func validate() throws {
        guard self.killAfter < self.count else { throw ValidationError("--kill-after must be below --count, or nothing is killed") }
    }

    /// How the `legacy` source of deploy/hookline.yaml reads a delivery.
    static let legacySource = ProviderConfiguration(
        signatureHeader: "X-Signature", signaturePrefix: "sha256=", eventTypeJSONPointer: "/event_type", idHeader: "X-Webhook-Id"
    )

    func run() async throws {
        var logger = Logger(label: "hookline.chaos")
        logger.logLevel = .warning
        let run = String(UInt32.random(in: .min ... .max), radix: 16)
        let state = LoadState()
        let start = ContinuousClock.now

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<self.concurrency {
                group.addTask {
                    while true {
                        let index = state.next.add(1, ordering: .relaxed).oldValue
                        guard index < self.count else { return }
                        if index == self.killAfter {
                            guard Foundation.kill(self.kill, SIGKILL) == 0 else {
                                throw ValidationError("could not SIGKILL pid \(self.kill): errno \(errno)")
                            }
                            state.outcome.withLock { $0.killedAt = index }
                        }
                        let id = "chaos-\(run)-\(index)"
                        let status = try await self.post(orderID: id)
                        state.outcome.withLock { $0.record(id: id, status: status, afterKill: $0.killedAt != nil) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let sending = ContinuousClock.now - start
        let result = state.outcome.withLock { $0 }
        print("sent \(self.count) in \(sending.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))), "
            + "acknowledged \(result.acknowledged.count), other answers: \(result.statuses.isEmpty ? "none" : result.statuses.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "no response" : String($0.key))×\($0.value)" }.joined(separator: " "))")
        print("after the kill (request \(result.killedAt ?? -1)): \(result.sentAfterKill) sent, \(result.acknowledgedAfterKill) acknowledged")

        let inKafka = try await self.ordersInKafka(run: run, logger: logger)
        let missingInKafka = result.acknowledged.subtracting(inKafka.ids)
        print("in Kafka: \(inKafka.ids.intersection(result.acknowledged).count) of \(result.acknowledged.count) acknowledged "
            + "(\(inKafka.ids.count) distinct, \(inKafka.records) records; by replica: \(inKafka.byReplica.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")

        let (applied, appliedTwice) = try await self.appliedOrders(run: run, expected: result.acknowledged)
        let missingApplied = result.acknowledged.subtracting(applied)
        print("applied by orders: \(applied.intersection(result.acknowledged).count) of \(result.acknowledged.count) acknowledged, \(appliedTwice) applied more than once")

        if appliedTwice > 0 {
            print("DUPLICATED: \(appliedTwice) orders applied more than once")
            throw ExitCode.failure
        }
        // A run that acknowledged nothing proved nothing (the gateway down throughout, a wrong secret).
        if result.acknowledged.isEmpty {
            print("NOTHING ACKNOWLEDGED: no webhook was answered 2xx, so nothing was checked")
            throw ExitCode.failure
        }
        if !missingInKafka.isEmpty || !missingApplied.isEmpty {
            print("LOST: \(missingInKafka.count) acknowledged but not in Kafka, \(missingApplied.count) acknowledged but not applied, e.g. \(missingInKafka.union(missingApplied).prefix(5).sorted())")
            throw ExitCode.failure
        }
        // Nothing acknowledged after the kill: the load balancer did not route around the dead
        // replica. No request left after it: the kill proved nothing.
        if result.killedAt != nil, result.sentAfterKill > 0, result.acknowledgedAfterKill == 0 {
            print("NOTHING ACKNOWLEDGED AFTER THE KILL: \(result.sentAfterKill) sent, none answered 2xx")
            throw ExitCode.failure
        }
        if result.killedAt == nil || result.sentAfterKill == 0 {
            print("NO KILL UNDER LOAD: the replica was not killed while requests were still to be sent (--kill-after is past --count)")
            throw ExitCode.failure
        }
        print("OK: every acknowledged webhook is in Kafka and applied")
    }

    /// Shared by the sending lanes.
    final class LoadState: Sendable {
        let next = Atomic(0)
        let outcome = Mutex(Outcome())
    }

    /// What the load saw.
    struct Outcome: Sendable {
        var acknowledged: Set<String> = []
        /// Non-2xx answers by status; 0 = no HTTP response at all.
        var statuses: [Int: Int] = [:]
        var killedAt: Int?
        var sentAfterKill = 0
        var acknowledgedAfterKill = 0

        mutating func record(id: String, status: Int, afterKill: Bool) {
            let ok = (200..<300).contains(status)
            if ok { self.acknowledged.insert(id) } else { self.statuses[status, default: 0] += 1 }
            if afterKill {
                self.sentAfterKill += 1
                if ok { self.acknowledgedAfterKill += 1 }
            }
        }
    }

    /// Posts one order, signed as the legacy source expects; its status, or 0 when no response came.
    private func post(orderID: String) async throws -> Int {
        let body = Array(#"{"event_type":"new_order","order_id":"\#(orderID)","status":"pending","total":"49.90","currency":"EUR","customer":{"email":"chaos@example.com"}}"#.utf8)
        // The order id is the event id too: a request HAProxy retries on another replica after
        // its first one died mid-request may be in Kafka twice; the orders service skips the copy.
        let signed = try WebhookProviders.sign(
            provider: "hmac-sha256",
            WebhookSigningInput(
                secret: self.secret, body: body, id: orderID, timestamp: Int64(Date().timeIntervalSince1970), configuration: Self.legacySource
            )
        )
        var request = HTTPClientRequest(url: self.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for field in signed.headerFields { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            _ = try await response.body.collect(upTo: 1 << 16)
            return Int(response.status.code)
        } catch {
            return 0
        }
    }

    /// The order ids of this run found in the topic, and which replica wrote them.
    private func ordersInKafka(run: String, logger: Logger) async throws -> (ids: Set<String>, records: Int, byReplica: [String: Int]) {
        let kafka = KafkaConfiguration(bootstrapServers: self.brokers, clientID: "hookline-chaos")
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let topics = try await admin.listTopics().filter { $0.name == self.topic }
        let total = try await admin.watermarks(topics: topics, isolationLevel: .readUncommitted).values.reduce(0) { $0 + Int($1.end - $1.earliest) }
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: kafka, groupID: "hookline-chaos-\(run)", sessionTimeout: .seconds(6)),
            logger: logger
        )
        try consumer.subscribe(topics: [self.topic])
        var ids: Set<String> = []
        var byReplica: [String: Int] = [:]
        var records = 0
        let deadline = ContinuousClock.now + .seconds(self.settle)
        let marker = Array("\"order_id\":\"chaos-\(run)-".utf8)
        while records < total, ContinuousClock.now < deadline {
            for message in await consumer.nextBatch(timeout: deadline - ContinuousClock.now) {
                records += 1
                guard let id = Self.orderID(in: message.value, after: marker, run: run) else { continue }
                ids.insert(id)
                byReplica[message.headers.first("hookline-gateway")?.stringValue ?? "?", default: 0] += 1
            }
        }
        await consumer.close()
        return (ids, records, byReplica)
    }

    /// `chaos-<run>-<n>` from a body this command wrote.
    private static func orderID(in value: [UInt8], after marker: [UInt8], run: String) -> String? {
        guard let start = value.firstRange(of: marker)?.upperBound,
            let end = value[start...].firstIndex(of: UInt8(ascii: "\""))
        else { return nil }
        return "chaos-\(run)-" + String(decoding: value[start..<end], as: UTF8.self)
    }

    /// This run's orders in the orders service's database, once all expected are there or the
    /// wait is over, and how many of them more than one event was applied to.
    private func appliedOrders(run: String, expected: Set<String>) async throws -> (ids: Set<String>, appliedTwice: Int) {
        var configuration = Configuration()
        configuration.readonly = true
        let deadline = ContinuousClock.now + .seconds(self.settle)
        var applied: Set<String> = []
        var appliedTwice = 0
        let pattern = "chaos-\(run)-%"
        while ContinuousClock.now < deadline {
            if let database = try? DatabaseQueue(path: self.ordersDatabase, configuration: configuration),
                let (ids, twice) = try? await database.read({ db in
                    (
                        try String.fetchAll(db, sql: "SELECT id FROM orders WHERE id LIKE ?", arguments: [pattern]),
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders WHERE id LIKE ? AND events > 1", arguments: [pattern]) ?? 0
                    )
                })
            {
                applied = Set(ids)
                appliedTwice = twice
                if expected.isSubset(of: applied) { break }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return (applied, appliedTwice)
    }
}
