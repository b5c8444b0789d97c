import HooklineKafka
import Logging
import Synchronization

/// The topics this gateway has made sure exist. A topic is created through the admin API on
/// its first use (never by broker auto-creation) and remembered; concurrent first uses of one
/// topic share a single creation.
final class TopicCatalog: Sendable {
    private enum Entry {
        case ready
        case creating(Task<Void, any Error>)
    }

    private let entries = Mutex<[String: Entry]>([:])
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
    func ensure(_ topic: String) async throws(KafkaError) {
        let pending: Task<Void, any Error>? = self.entries.withLock { entries in
            switch entries[topic] {
            case .ready:
                return nil
            case .creating(let task):
                return task
            case nil:
                let task = Task { [admin, partitions, replicationFactor] in
                    try await admin.createTopics([.init(name: topic, partitions: partitions, replicationFactor: replicationFactor)])
                }
                entries[topic] = .creating(task)
                return task
            }
        }
        guard let task = pending else { return }
        do {
            try await task.value
            self.entries.withLock { $0[topic] = .ready }
        } catch {
            // Forget the failed attempt so the next request tries again.
            self.entries.withLock { entries in
                if case .creating = entries[topic] { entries[topic] = nil }
            }
            self.logger.warning("topic creation failed", metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"])
            throw error as? KafkaError ?? KafkaError(code: .fatal, message: "\(error)", operation: "creating topic \(topic)")
        }
    }

    /// Makes the next ``ensure(_:)`` of `topic` ask the broker again.
    func forget(_ topic: String) {
        self.entries.withLock { entries in
            if case .ready = entries[topic] { entries[topic] = nil }
        }
    }

    func isKnown(_ topic: String) -> Bool {
        self.entries.withLock { if case .ready = $0[topic] { true } else { false } }
    }
}
