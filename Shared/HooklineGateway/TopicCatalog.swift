import HooklineKafka
import Logging
import Synchronization

/// The topics this gateway has made sure exist. A topic is created through the admin API on
/// its first use (never by broker auto-creation) and remembered; concurrent first uses of one
/// topic share a single creation.
///
/// At most ``maxCreating`` creations run at once. Each holds a thread while it waits for the
/// broker (up to the admin timeout when the broker is silent), and event names are the sender's
/// to choose: past the bound, a new topic's request fails at once (503, retried by its sender).
final class TopicCatalog: Sendable {
    private enum Entry {
        case ready
        case creating(Task<Result<Void, KafkaError>, Never>)
    }

    static let maxCreating = 16

    private let entries = Mutex<(topics: [String: Entry], creating: Int)>(([:], 0))
    private let admin: KafkaAdmin
    private let partitions: Int32
    private let replicationFactor: Int32
    private let logger: Logger

    init(admin: KafkaAdmin, partitions: Int32, replicationFactor: Int32, logger: Logger) {
        self.admin = admin
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.logger = logger
    }

    /// Returns once `topic` exists. Fast (one lock) for a topic already known.
    ///
    /// - Parameter deadline: when to stop waiting for a creation (a request's ack deadline). The
    ///   creation itself goes on and is remembered when it succeeds; the next request finds it.
    func ensure(_ topic: String, before deadline: ContinuousClock.Instant) async throws(KafkaError) {
        let pending: Task<Result<Void, KafkaError>, Never>?? = self.entries.withLock { entries in
            switch entries.topics[topic] {
            case .ready:
                return .some(nil)
            case .creating(let task):
                return task
            case nil:
                guard entries.creating < Self.maxCreating else { return nil }
                entries.creating += 1
                let task = self.create(topic)
                entries.topics[topic] = .creating(task)
                return task
            }
        }
        guard let pending else {
            throw KafkaError(
                code: .queueFull,
                message: "\(Self.maxCreating) topics are being created already",
                operation: "creating topic \(topic)",
                isRetriable: true
            )
        }
        guard let task = pending else { return }
        guard try await firstOf(task, orDeadline: deadline) else {
            throw KafkaError(
                code: .timedOut,
                message: "the broker did not create the topic before the ack deadline",
                operation: "creating topic \(topic)",
                isRetriable: true
            )
        }
    }

    /// Creates `topic`, then records the outcome: remembered when created, forgotten when not,
    /// so the next request tries again.
    private func create(_ topic: String) -> Task<Result<Void, KafkaError>, Never> {
        Task { [admin, partitions, replicationFactor] in
            do throws(KafkaError) {
                try await admin.createTopics([.init(name: topic, partitions: partitions, replicationFactor: replicationFactor)])
                self.entries.withLock { entries in
                    entries.creating -= 1
                    entries.topics[topic] = .ready
                }
                return .success(())
            } catch {
                self.entries.withLock { entries in
                    entries.creating -= 1
                    if case .creating = entries.topics[topic] { entries.topics[topic] = nil }
                }
                self.logger.warning("topic creation failed", metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"])
                return .failure(error)
            }
        }
    }

    /// Makes the next ``ensure(_:before:)`` of `topic` ask the broker again.
    func forget(_ topic: String) {
        self.entries.withLock { entries in
            if case .ready = entries.topics[topic] { entries.topics[topic] = nil }
        }
    }

    func isKnown(_ topic: String) -> Bool {
        self.entries.withLock { if case .ready = $0.topics[topic] { true } else { false } }
    }
}

/// Waits for `task` until `deadline`: true when it finished first (or rethrows its error), false
/// when the deadline came first. The task is not cancelled: other waiters may still want it.
private func firstOf(_ task: Task<Result<Void, KafkaError>, Never>, orDeadline deadline: ContinuousClock.Instant) async throws(KafkaError) -> Bool {
    let once = ResumeOnce()
    let outcome = await withUnsafeContinuation { continuation in
        once.set(continuation)
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            once.resume(.success(false))
        }
        Task {
            once.resume(await task.value.map { true })
            timer.cancel()
        }
    }
    return try outcome.get()
}

/// A continuation that the first of several racers resumes.
private final class ResumeOnce: Sendable {
    private let continuation = Mutex<UnsafeContinuation<Result<Bool, KafkaError>, Never>?>(nil)

    func set(_ continuation: UnsafeContinuation<Result<Bool, KafkaError>, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ result: Result<Bool, KafkaError>) {
        self.continuation.withLock { $0.take() }?.resume(returning: result)
    }
}
