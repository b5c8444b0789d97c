import HooklineKafka
import Logging
import Synchronization

/// The topics this gateway has made sure exist. A topic is created through the admin API on
/// its first use (never by broker auto-creation) and remembered; concurrent first uses of one
/// topic share a single creation.
///
/// At most ``maxCreating`` creations run at once: each holds a thread while it waits for the
/// broker (up to the admin timeout when the broker is silent), and event names are the sender's
/// to choose. Past the bound, a first use waits for a creation to finish, until its request's
/// deadline (after a restart, or a broker outage that made the gateway forget its topics, every
/// busy topic is asked for again at once).
final class TopicCatalog: Sendable {
    private enum Entry {
        /// Known to exist; last asked of the broker at `checkedAt`.
        case ready(checkedAt: ContinuousClock.Instant)
        case creating(Task<Result<Void, KafkaError>, Never>)
    }

    private struct State {
        var topics: [String: Entry] = [:]
        var creating = 0
        /// First uses waiting for a creation to finish, oldest first.
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter: UInt64 = 0

        /// The waiter to wake, when a creation could start and one is waiting.
        mutating func waiterToWake() -> CheckedContinuation<Bool, Never>? {
            guard self.creating < TopicCatalog.maxCreating, !self.waiting.isEmpty else { return nil }
            return self.waiting.removeFirst().continuation
        }
    }

    static let maxCreating = 16

    private let state = Mutex(State())
    private let admin: KafkaAdmin
    private let partitions: Int32
    private let replicationFactor: Int32
    /// Topic-level configuration of the topics it creates.
    private let config: [String: String]
    private let logger: Logger
    /// How often a write failure that does not say the topic is gone has it created again in the
    /// background (``writeFailed(_:code:)``). Default: 5 seconds
    private let recheckInterval: Duration
    /// A topic whose creation keeps failing (a name colliding with another's in `.` against `_`)
    /// fails at each of its webhooks: a few lines a second, not one a request.
    private let logThrottle = LogThrottle()

    init(
        admin: KafkaAdmin,
        partitions: Int32,
        replicationFactor: Int32,
        config: [String: String] = [:],
        recheckInterval: Duration = .seconds(5),
        logger: Logger
    ) {
        self.admin = admin
        self.recheckInterval = recheckInterval
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
        self.logger = logger
    }

    /// Returns once `topic` exists. Fast (one lock) for a topic already known.
    ///
    /// - Parameter deadline: when to stop waiting for a creation (a request's ack deadline). The
    ///   creation itself goes on and is remembered when it succeeds; the next request finds it.
    func ensure(_ topic: String, before deadline: ContinuousClock.Instant) async throws(KafkaError) {
        while true {
            enum Next { case done, wait(Task<Result<Void, KafkaError>, Never>), waitForSlot }
            let (next, wake): (Next, CheckedContinuation<Bool, Never>?) = self.state.withLock { state in
                switch state.topics[topic] {
                case .ready:
                    return (.done, state.waiterToWake())
                case .creating(let task):
                    return (.wait(task), state.waiterToWake())
                case nil:
                    guard state.creating < Self.maxCreating else { return (.waitForSlot, nil) }
                    state.creating += 1
                    let task = self.create(topic)
                    state.topics[topic] = .creating(task)
                    return (.wait(task), nil)
                }
            }
            // Woken for a free creation that this first use did not take: the next waiter may.
            wake?.resume(returning: true)
            switch next {
            case .done:
                return
            case .wait(let task):
                // Not cancelled at the deadline: other first uses may still wait for it.
                guard let created = await task.value(before: deadline) else {
                    throw Self.timedOut(topic, "the broker did not create the topic before the ack deadline")
                }
                return try created.get()
            case .waitForSlot:
                guard await self.creationFinished(before: deadline) else {
                    throw Self.timedOut(topic, "\(Self.maxCreating) other topics were being created until the ack deadline")
                }
            }
        }
    }

    private static func timedOut(_ topic: String, _ message: String) -> KafkaError {
        KafkaError(code: .timedOut, message: message, operation: "creating topic \(topic)", isRetriable: true)
    }

    /// Waits until a creation finishes (true) or `deadline` passes (false).
    private func creationFinished(before deadline: ContinuousClock.Instant) async -> Bool {
        await withCheckedContinuation { continuation in
            let id: UInt64? = self.state.withLock { state in
                guard state.creating >= Self.maxCreating else { return nil }  // one finished meanwhile
                defer { state.nextWaiter += 1 }
                state.waiting.append((state.nextWaiter, continuation))
                return state.nextWaiter
            }
            guard let id else { return continuation.resume(returning: true) }
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                let expired = self.state.withLock { state in
                    state.waiting.firstIndex { $0.id == id }.map { state.waiting.remove(at: $0).continuation }
                }
                expired?.resume(returning: false)
            }
        }
    }

    /// Creates `topic`, then records the outcome: remembered when created, forgotten when not,
    /// so the next request tries again.
    private func create(_ topic: String) -> Task<Result<Void, KafkaError>, Never> {
        Task {
            let error = await self.requestCreation(of: topic, failure: "topic creation failed")
            self.state.withLock { state in
                state.creating -= 1
                if error == nil {
                    state.topics[topic] = .ready(checkedAt: .now)
                } else if case .creating = state.topics[topic] {
                    state.topics[topic] = nil
                }
                return state.waiterToWake()
            }?.resume(returning: true)
            return error.map { .failure($0) } ?? .success(())
        }
    }

    /// Asks the broker to create `topic` (one that exists is no error), within a slot of
    /// ``maxCreating`` its caller took; a failure is logged (`failure`, a few lines a second at
    /// most) and returned.
    private func requestCreation(of topic: String, failure: Logger.Message) async -> KafkaError? {
        do throws(KafkaError) {
            try await self.admin.createTopics([.init(name: topic, partitions: self.partitions, replicationFactor: self.replicationFactor, config: self.config)])
            return nil
        } catch {
            self.logThrottle.log(
                .topicCreation, source: topic, level: .warning, failure,
                metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"], logger: self.logger
            )
            return error
        }
    }

    /// Makes the next ``ensure(_:before:)`` of `topic` ask the broker again.
    func forget(_ topic: String) {
        self.state.withLock { state in
            if case .ready = state.topics[topic] { state.topics[topic] = nil }
        }
    }

    /// A write to `topic` failed with `code`. The broker may have lost the topic (an embedded
    /// broker restarts empty). When the failure says so, the next request waits for the topic to
    /// be created again (``forget(_:)``). Any other failure (a timeout, a full queue) may only
    /// mean a slow broker, where making every request wait for a creation as well would turn a
    /// slow patch into a run of 503s: the topic stays known, and is created again in the
    /// background, at most once every `recheckInterval`, within the bound on creations.
    func writeFailed(_ topic: String, code: KafkaError.Code) {
        if [.unknownTopicOrPartition, .unknownTopic, .unknownPartition].contains(code) {
            return self.forget(topic)
        }
        let due = self.state.withLock { state -> Bool in
            guard case .ready(let checkedAt) = state.topics[topic], checkedAt.duration(to: .now) >= self.recheckInterval,
                state.creating < Self.maxCreating
            else { return false }
            state.topics[topic] = .ready(checkedAt: .now)
            state.creating += 1
            return true
        }
        guard due else { return }
        Task {
            _ = await self.requestCreation(of: topic, failure: "topic check after a failed write failed")
            self.state.withLock { state in
                state.creating -= 1
                return state.waiterToWake()
            }?.resume(returning: true)
        }
    }

    func isKnown(_ topic: String) -> Bool {
        self.state.withLock { if case .ready = $0.topics[topic] { true } else { false } }
    }
}
