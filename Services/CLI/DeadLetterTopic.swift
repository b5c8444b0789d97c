import HooklineConfig
import HooklineConsumerKit
import HooklineKafka
import HooklineWebhooks

/// A service's dead-letter topic as the cluster has it now: partitions, bounds and how far
/// redrives have got.
struct DeadLetterTopic {
    let service: String
    let name: String
    /// `hookline-dlq-redrive-<service>`: its committed offset per partition marks the dead letters
    /// already redriven (every offset below it).
    let redriveGroup: String
    /// Partition → first offset still in the log.
    let earliest: [Int32: Int64]
    /// Partition → offset the next dead letter will get.
    let end: [Int32: Int64]
    /// Partition → first offset not yet redriven (at least ``earliest``).
    let redriveMark: [Int32: Int64]

    var partitions: [Int32] { self.end.keys.sorted() }

    /// `<prefix>.dlq.<service>`.
    static func name(service: String, configuration: HooklineConfiguration) -> String {
        WebhookTopic.deadLetters(prefix: configuration.kafka.topicPrefix, service: service)
    }

    /// `hookline-dlq-redrive-<service>` (``redriveGroup``).
    static func redriveGroup(service: String) -> String {
        "hookline-dlq-redrive-\(service)"
    }

    /// Looks the topic up; `nil` when it does not exist (the service never dead-lettered anything).
    static func load(service: String, configuration: HooklineConfiguration, admin: KafkaAdmin) async throws -> DeadLetterTopic? {
        let name = self.name(service: service, configuration: configuration)
        guard let metadata = try await admin.listTopics().first(where: { $0.name == name }) else {
            // A service the configuration does not name either is a mistyped name more likely
            // than one with no dead letters.
            guard configuration.services[service] != nil else {
                let known = configuration.services.keys.sorted().joined(separator: ", ")
                throw CLIError.failed("no service named \(service) in the configuration (\(known.isEmpty ? "none" : known)), and no topic \(name)")
            }
            return nil
        }
        let partitions = metadata.topicPartitions
        let bounds = try await admin.watermarks(topics: [metadata], isolationLevel: .readUncommitted)
        let group = self.redriveGroup(service: service)
        let committed = try await admin.committedOffsets(group: group)
        var marks: [Int32: Int64] = [:]
        for partition in partitions {
            marks[partition.partition] = max(committed[partition] ?? 0, bounds[partition]?.earliest ?? 0)
        }
        return DeadLetterTopic(
            service: service,
            name: name,
            redriveGroup: group,
            earliest: Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, bounds[$0]?.earliest ?? 0) }),
            end: Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, bounds[$0]?.end ?? 0) }),
            redriveMark: marks
        )
    }

    /// Fails unless `partition` is one of the topic's and `offset` holds a record now.
    /// The partition a command's offsets are in: the one given, else the only one there is.
    func partition(_ given: Int32?) throws(CLIError) -> Int32 {
        if let given { return given }
        guard self.partitions.count == 1, let only = self.partitions.first else {
            throw .failed("\(self.name) has \(self.partitions.count) partitions: give --partition (hookline dlq list shows each dead letter's)")
        }
        return only
    }

    func check(partition: Int32, offset: Int64) throws(CLIError) {
        guard let end = self.end[partition], let earliest = self.earliest[partition] else {
            throw .failed("\(self.name) has no partition \(partition) (partitions: \(self.partitions.map(String.init).joined(separator: ", ")))")
        }
        guard offset >= earliest, offset < end else {
            throw .failed("\(self.name)[\(partition)] has no record at offset \(offset) (records: \(earliest)..<\(end))")
        }
    }
}
