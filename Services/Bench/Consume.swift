import ArgumentParser
import Foundation
import GRDB
import HooklineConsumerKit
import HooklineKafka
import HooklineServices
import Logging
import ServiceLifecycle
import Synchronization

/// `make bench-consumers`: preloads `count` order events, then measures, on the same broker,
/// (1) the raw consume rate of the Swift consumer with a no-op handler and (2) the orders service
/// applying them with durable effects (offsets and effects in one SQLite transaction per batch).
struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Raw consume rate vs. the orders service with durable effects.")

    @Option(help: "bootstrap.servers") var brokers: String
    @Option(help: "Events to preload.") var count = 200_000
    @Option(help: "Partitions of the topic.") var partitions: Int32 = 6
    @Option(help: "Events applied per database transaction (default: the kit's).") var batchSize: Int?
    @Option(help: "Directory for the service's SQLite database.") var directory = "/tmp"

    func run() async throws {
        var logger = Logger(label: "hookline.bench.consume")
        logger.logLevel = .warning
        let prefix = "bench\(Int.random(in: 1000...9999))"
        let topic = "\(prefix).shop.new_order"
        let kafka = KafkaConfiguration(bootstrapServers: self.brokers, clientID: "hookline-bench")
        try await KafkaAdmin(configuration: kafka, logger: logger).createTopics([.init(name: topic, partitions: self.partitions)])

        // Preload: the gateway's record shape, one distinct order per event.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: logger)
        let preload = ContinuousClock.now
        let failures = PreloadFailures()
        for index in 0..<self.count {
            let body = Array(#"{"event_type":"new_order","order_id":"ord_\#(index)","total":"49.90","currency":"EUR","customer":{"email":"jon@example.com"},"created_at":"2024-05-14T09:26:35Z"}"#.utf8)
            let headers = [
                KafkaHeader(key: "ce_specversion", value: "1.0"), KafkaHeader(key: "ce_id", value: "bench-\(index)"),
                KafkaHeader(key: "ce_type", value: "hmac-sha256.new_order"), KafkaHeader(key: "ce_source", value: "/webhooks/shop"),
            ]
            while producer.outstandingCount > 50_000 { try await Task.sleep(for: .milliseconds(1)) }
            if let error = producer.enqueue(topic: topic, key: Array("ord_\(index)".utf8), value: body, headers: headers, completion: { result in
                if case .failure = result { failures.add() }
            }) {
                throw error
            }
        }
        await producer.shutdown(timeout: .seconds(60))
        guard failures.count == 0 else { throw ValidationError("\(failures.count) preload records failed") }
        print("preloaded \(self.count) events in \(seconds(preload.duration(to: .now))) s")

        // 1. Raw consume rate: the Swift consumer, no-op handler; also without its offset-gap
        // check, alternated (unchecked, checked, unchecked, checked), for what the check costs.
        var rates: [Bool: [Double]] = [:]
        for (round, gapCheck) in [false, true, false, true].enumerated() {
            rates[gapCheck, default: []].append(try await self.rawRate(kafka: kafka, topic: topic, group: "\(prefix)-raw\(round)", gapCheck: gapCheck, logger: logger))
        }
        let raw = rates[true]!.reduce(0, +) / 2
        let rawUnchecked = rates[false]!.reduce(0, +) / 2

        // 2. The orders service, effects durable (WAL, one transaction per batch).
        let database = URL(fileURLWithPath: self.directory).appendingPathComponent("\(prefix)-orders.sqlite").path
        var configuration = ConsumerConfiguration(
            kafka: kafka, groupID: "\(prefix)-orders", databasePath: database, sessionTimeout: .seconds(6), topicPrefix: prefix
        )
        if let batchSize = self.batchSize { configuration.batchSize = batchSize }
        let runner = try ConsumerRunner(service: OrdersService.make(prefix: prefix), configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [runner], logger: logger)
        let task = Task { try await group.run() }
        // Progress from the service's own metrics (counted after each commit), not by counting the
        // orders table: a COUNT(*) over a growing table every 20 ms would take CPU from the service.
        func metric(_ name: String) -> Double {
            runner.metrics.render().split(separator: "\n").first { $0.hasPrefix(name) }?.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        let deadline = ContinuousClock.now + .seconds(600)
        // From the first commit seen: the events counted then are left out of the rate.
        var serviceStart: (at: ContinuousClock.Instant, committed: Int)?
        var committed = 0
        while committed < self.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            committed = Int(metric("hookline_consumer_events_applied_total"))
            if committed > 0, serviceStart == nil { serviceStart = (.now, committed) }
        }
        let serviceSeconds = seconds(serviceStart!.at.duration(to: .now))
        let service = Double(committed - serviceStart!.committed) / serviceSeconds
        // Batches (transactions, fsyncs) it took, from its own metrics.
        let batches = Int(metric("hookline_consumer_batch_duration_seconds_count"))
        let inBatches = metric("hookline_consumer_batch_duration_seconds_sum")
        let walBytes = (try? FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? Int) ?? 0
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        // What the metric counted is in the database.
        let done = (try? await runner.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM orders") ?? 0 }) ?? 0
        try? FileManager.default.removeItem(atPath: database)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        guard done == self.count else { throw ValidationError("the service applied \(done) of \(self.count)") }

        print("raw rounds (events/s): unchecked \(rates[false]!.map { Int($0) }), checked \(rates[true]!.map { Int($0) })")
        print("RESULT raw_eps=\(Int(raw)) raw_unchecked_eps=\(Int(rawUnchecked)) gap_check_cost=\(Int((1 - raw / rawUnchecked) * 100))% service_eps=\(Int(service)) ratio=\(String(Int(service / raw * 100)))% events=\(self.count) batch_size=\(configuration.batchSize) transactions=\(batches) seconds_in_transactions=\(inBatches) seconds_total=\(serviceSeconds) wal_bytes=\(walBytes)")
    }
}

extension Consume {
    /// The events a second a consumer of a new group with a no-op handler reads the topic at, from
    /// its first batch (the group join is not consuming; that batch's events came before the
    /// clock started, so they are left out, as the service's first are).
    func rawRate(kafka: KafkaConfiguration, topic: String, group: String, gapCheck: Bool, logger: Logger) async throws -> Double {
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: group, sessionTimeout: .seconds(6))
        if !gapCheck { configuration.offsetGapRecheck = nil }
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [topic])
        var seen = 0
        var start: (at: ContinuousClock.Instant, seen: Int)?
        while seen < self.count {
            let batch = await consumer.nextBatch(maxCount: 5000, timeout: .seconds(30))
            guard !batch.isEmpty else { throw ValidationError("the raw consumer stalled at \(seen)") }
            seen += batch.count
            start = start ?? (.now, seen)
        }
        let elapsed = start.map { seconds($0.at.duration(to: .now)) }
        await consumer.close()
        guard let start, let elapsed, seen > start.seen else { throw ValidationError("the raw consumer took all \(seen) events in one batch: raise --count") }
        return Double(seen - start.seen) / elapsed
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private final class PreloadFailures: Sendable {
    private let value = Mutex(0)
    func add() { self.value.withLock { $0 += 1 } }
    var count: Int { self.value.withLock { $0 } }
}
