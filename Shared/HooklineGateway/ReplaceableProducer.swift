import HooklineKafka
import Logging
import Synchronization

/// A producer that is replaced by a fresh one when it cannot recover by itself, so one bad moment
/// of the broker does not make every later request fail:
/// - librdkafka declared it fatally broken (an idempotent producer fenced), or
/// - an idempotent producer's write timed out, and a second later it has had no record of that
///   topic acknowledged since that one was queued: after a broker restart its producer id is
///   unknown there and it retries forever (seen with the embedded broker), while a topic it had
///   not written before may go through. A new producer gets a new id. A write that timed out
///   while its topic's others were acknowledged met a slow broker, not a stuck producer, and
///   replacing it would only fail the records it holds. At most one such replacement every two
///   seconds; a fatally broken producer is replaced at once.
///
/// A fatal error that comes back with each new producer (a cluster that refuses this client an
/// idempotent producer id: an authorization, an unsupported feature) would otherwise make a new
/// handle, its threads and its connections many times a second: once producers have died of it
/// within ``quickDeath`` of their start, each replacement waits 1, 2, 4 … up to 30 s from the
/// last one, and readiness reports the error until a producer outlives ``quickDeath``.
///
/// A record that meets a producer being replaced goes to its successor.
final class ReplaceableProducer: Sendable {
    private struct Current {
        var producer: KafkaProducer
        var since: ContinuousClock.Instant
        var replacing = false
        /// When this producer's fatal error was first seen: its death, which its replacement may
        /// come well after, held back by the backoff.
        var diedAt: ContinuousClock.Instant?
        /// Producers in a row, before this one, that died of a fatal error within ``quickDeath``.
        var quickFatalDeaths = 0
        /// The last of those deaths' error.
        var lastFatal: KafkaError?
    }

    /// How long a producer must have lived before a fatal error replaces it, after `deaths` quick
    /// fatal deaths: `unit`, doubled for each death after the first, at most 30 s.
    static func fatalBackoff(after deaths: Int, unit: Duration = .seconds(1)) -> Duration {
        deaths == 0 ? .zero : min(unit * (1 << min(deaths - 1, 5)), .seconds(30))
    }

    private let current: Mutex<Current>
    /// The first wait of ``fatalBackoff(after:unit:)`` (tests set it, to be told apart from a slow machine).
    private let fatalBackoffUnit: Duration
    /// A producer that dies of a fatal error sooner than this after its start counts as one that
    /// met a fatal error coming back; one that lasts longer ends the backoff. 10 s (tests set it).
    private let quickDeath: Duration
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    init(
        configuration: KafkaProducerConfiguration,
        fatalBackoffUnit: Duration = .seconds(1),
        quickDeath: Duration = .seconds(10),
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.fatalBackoffUnit = fatalBackoffUnit
        self.quickDeath = quickDeath
        self.logger = logger
        self.current = Mutex(Current(producer: try KafkaProducer(configuration: configuration, logger: logger), since: .now))
    }

    /// Queues one record; `completion` gets its delivery report (see ``KafkaProducer/enqueue``),
    /// also when it could not be queued.
    func enqueue(
        topic: String,
        key: [UInt8],
        value: [UInt8],
        headers: [KafkaHeader],
        timeout: Duration,
        since start: ContinuousClock.Instant,
        completion: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) {
        var producer = self.producer
        for attempt in 1...2 {
            let acknowledgedBefore = producer.acknowledgedCount(topic: topic)
            let done: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void = { [producer] result in
                if case .failure(let error) = result {
                    // Replacing makes a new librdkafka handle: do it beside the request, not in its way.
                    if let fatal = producer.fatalError {
                        Task { self.replace(producer, because: fatal) }
                    } else if error.code == .messageTimedOut, producer.isIdempotent {
                        self.replaceIfStuck(producer, topic: topic, acknowledgedBefore: acknowledgedBefore, because: error)
                    }
                }
                completion(result)
            }
            guard let error = producer.enqueue(topic: topic, key: key, value: value, headers: headers, timeout: timeout, since: start, completion: done) else {
                return
            }
            // Replaced between reading it and producing: the successor takes the record.
            let successor = self.producer
            if error.code == .closed, attempt == 1, successor !== producer {
                producer = successor
                continue
            }
            done(.failure(error))
            return
        }
    }

    /// The producer records go to now.
    var producer: KafkaProducer {
        self.current.withLock { $0.producer }
    }

    /// Replaces the current producer if librdkafka declared it fatally broken, and returns the
    /// error when that failed. Asked by `/readyz`: a replica taken out of rotation for a broken
    /// producer gets no delivery whose failure would replace it, so readiness must.
    func recoverIfFatal() -> KafkaError? {
        let producer = self.producer
        if let fatal = producer.fatalError { self.replace(producer, because: fatal) }
        return self.current.withLock { current in
            if let fatal = current.producer.fatalError { return fatal }
            // Twice in a row at once: the next one has to prove itself first.
            guard current.quickFatalDeaths >= 2, current.since.duration(to: .now) < self.quickDeath else { return nil }
            return current.lastFatal
        }
    }

    /// Records queued in the current producer or in flight to the broker.
    var outstandingCount: Int {
        self.producer.outstandingCount
    }

    /// Replaces `producer` if, a second from now, it has had no record of `topic` acknowledged
    /// since it had acknowledged `count`: time enough for a slow broker's acknowledgements, which
    /// come a batch at a time, to show. Each timed-out write checks for itself, so that an older
    /// one's check, which other acknowledgements may have cleared, does not stand for it.
    private func replaceIfStuck(_ producer: KafkaProducer, topic: String, acknowledgedBefore count: Int, because reason: KafkaError) {
        Task {
            try? await Task.sleep(for: .seconds(1))
            if self.producer === producer, producer.acknowledgedCount(topic: topic) == count {
                self.replace(producer, because: reason)
            }
        }
    }

    private func replace(_ broken: KafkaProducer, because reason: KafkaError) {
        // Decided under the lock, built outside it: every request reads the producer through this
        // lock, and a new librdkafka handle starts threads. `replacing` keeps a second caller from
        // building another meanwhile, so `broken` is still current when the fresh one is swapped in.
        let due = self.current.withLock { current -> Bool in
            guard current.producer === broken else { return false }
            if reason.isFatal, current.diedAt == nil { current.diedAt = .now }
            let lived = current.since.duration(to: .now)
            guard !current.replacing,
                reason.isFatal ? lived >= Self.fatalBackoff(after: current.quickFatalDeaths, unit: self.fatalBackoffUnit) : lived > .seconds(2)
            else { return false }
            current.replacing = true
            return true
        }
        guard due else { return }
        let fresh = try? KafkaProducer(configuration: self.configuration, logger: self.logger)
        let replaced = self.current.withLock { current -> Bool in
            current.replacing = false
            guard let fresh else { return false }
            let quick = reason.isFatal && current.since.duration(to: current.diedAt ?? .now) < self.quickDeath
            current = Current(
                producer: fresh,
                since: .now,
                quickFatalDeaths: quick ? current.quickFatalDeaths + 1 : 0,
                lastFatal: quick ? reason : nil
            )
            return true
        }
        guard replaced else { return }
        self.logger.warning("replaced the Kafka producer", metadata: ["kafka.error": "\(reason)"])
        // A second, not the longest ack deadline: what the old producer holds is mostly records
        // already answered 503 (a broker gone), and draining longer writes them once the broker is
        // back, a duplicate of the provider's retry each (the broker-down test saw it). Records of
        // healthy topics still in flight meanwhile are purged and answered 503 in turn.
        Task { await broken.shutdown(timeout: .seconds(1)) }
    }

    func flush(timeout: Duration) async {
        _ = await self.producer.flush(timeout: timeout)
    }

    func shutdown(timeout: Duration) async {
        await self.producer.shutdown(timeout: timeout)
    }
}
