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
    @Option(help: "Topic to write to.") var topic: String
    @Option(help: "Partitions of the topic, created first when given (else the broker creates it on first use).")
    var partitions: Int32?
    @Option(help: "`concurrent` and `callbacks` modes: the key of every record (as the gateway keys a GitHub push by its repository); else a new key per record.")
    var key: String?
    @Option(help: "Records to produce.") var count = 300_000
    @Option(help: "Bytes per record.") var size = 1600
    @Option(help: "Records in flight at most.") var window = 50_000
    @Option(help: "`send`: one async send per record (what the gateway does); `enqueue`: delivery callbacks, no task per record; `concurrent`, `callbacks`: a fixed number in flight (see --concurrency).")
    var mode: Mode = .send
    @Option(help: "librdkafka properties, key=value.") var property: [String] = []
    @Option(help: "`concurrent` and `callbacks` modes: senders, each waiting for its acknowledgement before the next (like HTTP connections); `callbacks` sends the next record from the delivery callback, with no task.")
    var concurrency = 32
    @Option(help: "`concurrent` and `callbacks` modes: seconds to run.") var seconds = 15
    @Option(help: "`concurrent` mode: producers (each its own broker connection) the senders take turns on.")
    var producers = 1

    enum Mode: String, ExpressibleByArgument {
        case send, enqueue, concurrent, callbacks
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
        if let partitions = self.partitions {
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: self.brokers), logger: logger)
            try await admin.createTopics([KafkaAdmin.NewTopic(name: self.topic, partitions: partitions)])
        }
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: self.size)
        /// A producer that has sent one record: connected, with metadata and a producer id.
        let makeWarmProducer = { [topic = self.topic] in
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: self.brokers, properties: properties)),
                logger: logger
            )
            _ = try await producer.send(topic: topic, value: payload)
            return producer
        }
        let producer = try await makeWarmProducer()

        switch self.mode {
        case .callbacks:
            let loop = CallbackLoop(producer: producer, topic: self.topic, key: self.key, payload: payload, end: .now + .seconds(self.seconds))
            let start = MachineCPU.now()
            try await loop.run(senders: self.concurrency)
            Self.printResult(loop.latencies.sorted(), seconds: self.seconds, machineSince: start)
        case .concurrent:
            var producers = [producer]
            for _ in 1..<max(1, self.producers) { producers.append(try await makeWarmProducer()) }
            try await self.runConcurrent(producers, payload: payload)
            for another in producers.dropFirst() { await another.shutdown() }
        case .send, .enqueue:
            try await self.runCount(producer, payload: payload)
        }
        await producer.shutdown()
    }

    /// `send` and `enqueue` modes: `count` records, as fast as `window` allows. Prints messages/s.
    private func runCount(_ producer: KafkaProducer, payload: [UInt8]) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let failures = try await self.mode == .send ? self.runSends(producer, payload: payload) : self.runEnqueues(producer, payload: payload)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(self.count - failures) / seconds  // delivered records only
        // One machine-readable line, read by scripts/bench-kafka.sh (which fails on failures).
        print("messages=\(self.count) failures=\(failures) seconds=\(seconds) msgs_per_s=\(Int(rate)) mb_per_s=\(rate * Double(self.size) / 1e6)")
    }

    /// The produce-only ceiling of the gateway: `concurrency` senders, each sending its next record
    /// once the previous one is acknowledged, for `seconds`. Prints throughput and latency percentiles.
    private func runConcurrent(_ producers: [KafkaProducer], payload: [UInt8]) async throws {
        let topic = self.topic
        let fixedKey = self.key.map { Array($0.utf8) }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(self.seconds)
        let start = MachineCPU.now()
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for sender in 0..<self.concurrency {
                let producer = producers[sender % producers.count]
                group.addTask {
                    var latencies: [Duration] = []
                    var record = 0
                    while clock.now < end {
                        let start = clock.now
                        record += 1
                        let key = fixedKey ?? Array("sender-\(sender)-\(record)".utf8)
                        _ = try await producer.send(topic: topic, key: key, value: payload)
                        latencies.append(start.duration(to: clock.now))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }.sorted()
        Self.printResult(latencies, seconds: self.seconds, machineSince: start)
    }

    /// Prints the RESULT line of the concurrent modes from the sorted latencies, with the machine's
    /// CPU per record since `machineSince` (the start of the measured run).
    private static func printResult(_ latencies: [Duration], seconds: Int, machineSince start: MachineCPU?) {
        func percentile(_ p: Double) -> Double {
            let duration = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
        }
        let rate = Double(latencies.count) / Double(seconds)
        let machine = MachineCPU.now()?.resultFields(since: start, requests: latencies.count) ?? ""
        print("RESULT rps=\(Int(rate)) p50_ms=\(percentile(0.5)) p99_ms=\(percentile(0.99)) requests=\(latencies.count)\(machine)")
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

/// `callbacks` mode: each sender's next record is produced from the delivery callback of its
/// previous one, on librdkafka's delivery-report thread. What librdkafka and the broker do for
/// that many records in flight, without a task, continuation or thread hop per record.
private final class CallbackLoop: Sendable {
    let producer: KafkaProducer
    let topic: String
    let key: [UInt8]?
    let payload: [UInt8]
    let end: ContinuousClock.Instant
    private let state = Mutex<(latencies: [Duration], running: Int, error: KafkaError?, done: CheckedContinuation<Void, Never>?)>(([], 0, nil, nil))

    init(producer: KafkaProducer, topic: String, key: String?, payload: [UInt8], end: ContinuousClock.Instant) {
        self.producer = producer
        self.topic = topic
        self.key = key.map { Array($0.utf8) }
        self.payload = payload
        self.end = end
    }

    var latencies: [Duration] { self.state.withLock { $0.latencies } }

    func run(senders: Int) async throws {
        await withCheckedContinuation { continuation in
            self.state.withLock { $0.done = continuation; $0.running = senders }
            for sender in 0..<senders { self.send(sender: sender, record: 0) }
        }
        if let error = self.state.withLock({ $0.error }) { throw error }
    }

    private func send(sender: Int, record: Int) {
        let start = ContinuousClock.now
        let error = self.producer.enqueue(topic: self.topic, key: self.key ?? Array("sender-\(sender)-\(record)".utf8), value: self.payload) { result in
            let now = ContinuousClock.now
            if case .failure(let error) = result {
                self.finish(error)
                return
            }
            self.state.withLock { $0.latencies.append(start.duration(to: now)) }
            if now >= self.end {
                self.finish(nil)
            } else {
                self.send(sender: sender, record: record + 1)
            }
        }
        if let error { self.finish(error) }
    }

    private func finish(_ error: KafkaError?) {
        let done = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let error, state.error == nil { state.error = error }
            state.running -= 1
            guard state.running == 0 else { return nil }
            defer { state.done = nil }
            return state.done
        }
        done?.resume()
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
