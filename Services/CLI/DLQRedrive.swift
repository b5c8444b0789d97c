import ArgumentParser
import Foundation
import HooklineConfig
import HooklineKafka

/// `hookline dlq redrive <service>`: publishes dead letters again to the topics they came from,
/// with their original key and headers, and records how far it got so nothing is sent twice.
struct DLQRedrive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Publish dead letters again to their original topics, with their original key and headers.",
        discussion: """
            Each record goes to the topic in its hookline-dlq-source-topic header with its key, \
            value and original headers (the hookline-dlq-* headers removed), and counts as sent \
            once the broker acknowledged it. Progress is the committed offset of the consumer group \
            hookline-dlq-redrive-<service> per dead-letter partition: every dead letter below it \
            has been redriven, so running the command again sends nothing twice.

            --all sends everything past that mark. --offset sends the given dead letters of one \
            partition (those below the mark are skipped as already redriven); the mark moves over \
            them when they follow it without a gap. A dead letter sent out of order is sent again by \
            a later --all, where the service's event-id dedupe absorbs it if it was applied.
            """
    )

    @Argument(help: "The consumer service (services.<name>), such as orders.")
    var service: String

    @Option(name: .long, parsing: .upToNextOption, help: "Dead-letter offsets to redrive (repeatable, or several after one --offset).")
    var offset: [Int64] = []

    @Option(name: .long, help: "The dead-letter partition the --offset values are in.")
    var partition: Int32 = 0

    @Flag(name: .long, help: "Redrive every dead letter not redriven yet.")
    var all = false

    @Flag(name: .customLong("dry-run"), help: "Show what would be sent; send nothing, record nothing.")
    var dryRun = false

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard self.all != !self.offset.isEmpty else {
            throw ValidationError("Give either --all or --offset N…")
        }
    }

    func run() async throws {
        try await self.output.reporting {
            try await self.redrive()
        }
    }

    private func redrive() async throws {
        let configuration = try self.cluster.load()
        let admin = try self.cluster.admin(configuration)
        guard let topic = try await DeadLetterTopic.load(service: self.service, configuration: configuration, admin: admin) else {
            guard self.all else {
                throw CLIError.failed("\(configuration.kafka.topicPrefix).dlq.\(self.service) does not exist: \(self.service) has no dead letters")
            }
            self.report(topic: "\(configuration.kafka.topicPrefix).dlq.\(self.service)", group: "hookline-dlq-redrive-\(self.service)", sent: [], skipped: [], failure: nil)
            return
        }
        if let group = try? await admin.describeConsumerGroups([topic.redriveGroup]).first, !group.members.isEmpty {
            throw CLIError.refused("\(topic.redriveGroup) has \(group.members.count) active member(s): another redrive is running")
        }

        // What to send, per partition, in offset order.
        var ranges: [Int32: Range<Int64>] = [:]
        var wanted: Set<Int64> = []
        var skipped: [[String: Any]] = []
        if self.all {
            for partition in topic.partitions {
                ranges[partition] = topic.redriveMark[partition]!..<topic.end[partition]!
            }
        } else {
            for offset in Set(self.offset).sorted() {
                try topic.check(partition: self.partition, offset: offset)
                if offset < topic.redriveMark[self.partition]! {
                    skipped.append(["partition": Int(self.partition), "offset": offset, "reason": "already redriven"])
                } else {
                    wanted.insert(offset)
                }
            }
            if let first = wanted.min(), let last = wanted.max() {
                ranges[self.partition] = first..<(last + 1)
            }
        }
        let reader = TopicRangeReader(kafka: self.cluster.kafka(configuration), sessionTimeoutMs: configuration.kafka.sessionTimeoutMs)
        let letters = try await reader.read(topic: topic.name, ranges: ranges)
            .filter { self.all || wanted.contains($0.offset) }
            .map(DeadLetter.init)

        var sent: [[String: Any]] = []
        var failure: String?
        let producer: KafkaProducer? = self.dryRun ? nil : try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: self.cluster.kafka(configuration)), logger: .cli)
        var marks = topic.redriveMark
        var done: [Int32: Set<Int64>] = [:]
        for letter in letters {
            guard let original = letter.originalTopic else {
                skipped.append(["partition": Int(letter.partition), "offset": letter.offset, "reason": "no hookline-dlq-source-topic header"])
                done[letter.partition, default: []].insert(letter.offset)
                continue
            }
            var entry: [String: Any] = [
                "partition": Int(letter.partition),
                "offset": letter.offset,
                "topic": original,
                "eventID": JSONOutput.orNull(letter.eventID),
            ]
            if let producer {
                do {
                    let report = try await producer.send(topic: original, key: letter.record.key ?? [], value: letter.record.value, headers: letter.originalHeaders)
                    entry["toPartition"] = Int(report.partition)
                    entry["toOffset"] = report.offset
                } catch {
                    failure = "sending \(topic.name)[\(letter.partition)]@\(letter.offset) to \(original): \(error)"
                    break
                }
                done[letter.partition, default: []].insert(letter.offset)
                // Move the mark over every dead letter handled without a gap, and record it.
                var mark = marks[letter.partition]!
                if self.all {
                    // --all reads each partition in order: everything before this one is handled.
                    mark = max(mark, letter.offset + 1)
                }
                while done[letter.partition]!.contains(mark) { mark += 1 }
                if mark != marks[letter.partition]! {
                    marks[letter.partition] = mark
                    try await admin.alterCommittedOffsets(group: topic.redriveGroup, offsets: [TopicPartition(topic: topic.name, partition: letter.partition): mark])
                }
            }
            sent.append(entry)
        }
        if let producer {
            // Marks over trailing dead letters that were only skipped.
            for (partition, offsets) in done {
                var mark = marks[partition]!
                while offsets.contains(mark) { mark += 1 }
                if mark != marks[partition]! {
                    try await admin.alterCommittedOffsets(group: topic.redriveGroup, offsets: [TopicPartition(topic: topic.name, partition: partition): mark])
                }
            }
            await producer.shutdown()
        }
        self.report(topic: topic.name, group: topic.redriveGroup, sent: sent, skipped: skipped, failure: failure)
        if failure != nil { throw ExitCode(1) }
    }

    private func report(topic: String, group: String, sent: [[String: Any]], skipped: [[String: Any]], failure: String?) {
        if self.output.json {
            JSONOutput.print([
                "topic": topic,
                "group": group,
                "dryRun": self.dryRun,
                "sent": sent,
                "skipped": skipped,
                "error": JSONOutput.orNull(failure),
            ])
            return
        }
        for entry in sent {
            let from = "\(topic)[\(entry["partition"]!)]@\(entry["offset"]!)"
            let to = entry["toOffset"].map { "\(entry["topic"]!)[\(entry["toPartition"]!)]@\($0)" } ?? "\(entry["topic"]!)"
            let event = (entry["eventID"] as? String).map { " (event \($0))" } ?? ""
            print("\(self.dryRun ? "would send" : "sent") \(from) → \(to)\(event)")
        }
        for entry in skipped {
            print("skipped \(topic)[\(entry["partition"]!)]@\(entry["offset"]!): \(entry["reason"]!)")
        }
        if let failure { FileHandle.standardError.write(Data("hookline: \(failure)\n".utf8)) }
        print("\(sent.count) \(self.dryRun ? "to redrive" : "redriven"), \(skipped.count) skipped")
    }
}
