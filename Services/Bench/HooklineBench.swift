import ArgumentParser
import HooklineKafka
import Logging
import Synchronization

/// Benchmarks that are not tests: run by `make bench-…`, which also runs the competitor or
/// the ceiling in the same session and prints the ratio.
@main
struct HooklineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline-bench",
        abstract: "Hookline's benchmarks (see `make bench-kafka`).",
        subcommands: [Produce.self, HTTPCeiling.self, Consume.self, Chaos.self]
    )
}

struct Produce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Produce fixed-size records as fast as acks allow; print messages/s.")

    @Option(help: "bootstrap.servers") var brokers: String
    @Option(help: "Topic to write to (created by the broker on first use).") var topic: String
    @Option(help: "Records to produce.") var count = 300_000
    @Option(help: "Bytes per record.") var size = 1600
    @Option(help: "Records in flight at most.") var window = 50_000
    @Option(help: "`send`: one async send per record (what the gateway does); `enqueue`: delivery callbacks, no task per record.")
    var mode: Mode = .send
    @Option(help: "librdkafka properties, key=value.") var property: [String] = []
    @Option(help: "`concurrent` mode: senders, each waiting for its acknowledgement before the next (like HTTP connections).")
    var concurrency = 32
    @Option(help: "`concurrent` mode: seconds to run.") var seconds = 15

    enum Mode: String, ExpressibleByArgument {
        case send, enqueue, concurrent
    }

    func run() async throws {
        var properties: [String: String] = [:]
        for pair in self.property {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--property takes key=value, got \(pair)") }
            properties[parts[0]] = parts[1]
        }
        var logger = Logger(label: "hookline.bench")
        logger.logLevel = .warning
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: self.brokers, properties: properties)),
            logger: logger
        )
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: self.size)
        // Warm up: connect, fetch metadata, get a producer id.
        _ = try await producer.send(topic: self.topic, value: payload)

        if self.mode == .concurrent {
            try await self.runConcurrent(producer, payload: payload)
            await producer.shutdown()
            return
        }
        let clock = ContinuousClock()
        let start = clock.now
        let failures: Int
        switch self.mode {
        case .send: failures = try await self.runSends(producer, payload: payload)
        case .enqueue: failures = try await self.runEnqueues(producer, payload: payload)
        case .concurrent: fatalError("handled above")
        }
        let elapsed = clock.now - start
        await producer.shutdown()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(self.count) / seconds
        // One machine-readable line, read by scripts/bench-kafka.sh.
        print("messages=\(self.count) failures=\(failures) seconds=\(seconds) msgs_per_s=\(Int(rate)) mb_per_s=\(rate * Double(self.size) / 1e6)")
    }

    /// The produce-only ceiling of the gateway: `concurrency` senders, each sending its next record
    /// once the previous one is acknowledged, for `seconds`. Prints throughput and latency percentiles.
    private func runConcurrent(_ producer: KafkaProducer, payload: [UInt8]) async throws {
        let topic = self.topic
        let clock = ContinuousClock()
        let end = clock.now + .seconds(self.seconds)
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for sender in 0..<self.concurrency {
                group.addTask {
                    var latencies: [Duration] = []
                    let key = Array("sender-\(sender)".utf8)
                    while clock.now < end {
                        let start = clock.now
                        _ = try await producer.send(topic: topic, key: key, value: payload)
                        latencies.append(start.duration(to: clock.now))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }.sorted()
        func percentile(_ p: Double) -> Double {
            let duration = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
        }
        let rate = Double(latencies.count) / Double(self.seconds)
        print("RESULT rps=\(Int(rate)) p50_ms=\(percentile(0.5)) p99_ms=\(percentile(0.99)) requests=\(latencies.count)")
    }

    /// One task per record, at most `window` in flight.
    private func runSends(_ producer: KafkaProducer, payload: [UInt8]) async throws -> Int {
        let topic = self.topic
        return await withTaskGroup(of: Bool.self) { group in
            var failures = 0
            for index in 0..<self.count {
                if index >= self.window, let ok = await group.next(), !ok { failures += 1 }
                group.addTask {
                    do {
                        _ = try await producer.send(topic: topic, value: payload)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            for await ok in group where !ok { failures += 1 }
            return failures
        }
    }

    /// Delivery callbacks only; the loop waits when `window` records are in flight.
    private func runEnqueues(_ producer: KafkaProducer, payload: [UInt8]) async throws -> Int {
        let progress = Progress(total: self.count)
        for _ in 0..<self.count {
            while progress.inFlight >= self.window { try await Task.sleep(for: .microseconds(200)) }
            progress.started()
            if let error = producer.enqueue(topic: self.topic, value: payload, completion: { progress.finished(ok: (try? $0.get()) != nil) }) {
                throw error
            }
        }
        await progress.waitForAll()
        return progress.failures
    }
}

/// Counts enqueued and delivered records across the delivery-report thread.
private final class Progress: Sendable {
    private let state = Mutex<(started: Int, done: Int, failures: Int, waiter: CheckedContinuation<Void, Never>?)>((0, 0, 0, nil))
    let total: Int

    init(total: Int) { self.total = total }

    var inFlight: Int { self.state.withLock { $0.started - $0.done } }
    var failures: Int { self.state.withLock { $0.failures } }

    func started() { self.state.withLock { $0.started += 1 } }

    func finished(ok: Bool) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done += 1
            if !ok { state.failures += 1 }
            guard state.done == self.total else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func waitForAll() async {
        await withCheckedContinuation { continuation in
            let finished = self.state.withLock { state in
                if state.done == self.total { return true }
                state.waiter = continuation
                return false
            }
            if finished { continuation.resume() }
        }
    }
}
