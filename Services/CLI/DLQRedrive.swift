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
            once the broker acknowledged it. The dead letters are read as a member of the consumer \
            group hookline-dlq-redrive-<service>, from its committed offsets, and progress is \
            committed by that member every 100 dead letters or every second: every dead letter below \
            the committed offset of its partition has been redriven, so running the command again \
            sends nothing twice. While a redrive runs (the group has a member), another refuses with \
            exit code 3. Interrupted (Ctrl-C, SIGTERM), it stops after the dead letter being sent, \
            records its progress, leaves the group and exits 1.

            --all sends everything past that mark. --offset sends the given dead letters of one \
            partition (those below the mark are skipped as already redriven); the mark moves over \
            them when they follow it without a gap. A dead letter sent out of order is sent again by \
            a later --all, where the service's event-id dedupe absorbs it if it was applied.

            A dead letter written without its payload (hookline-dlq-payload-omitted: the record was \
            too large for a dead letter) is redriven from its original, read again from the source \
            topic, partition and offset; when the original is no longer there (retention) or is \
            another event, it is skipped with the reason.
            """
    )

    @Argument(help: "The consumer service (services.<name>), such as orders.")
    var service: String

    @Option(name: .long, parsing: .upToNextOption, help: "Dead-letter offsets to redrive (repeatable, or several after one --offset).")
    var offset: [Int64] = []

    @Option(name: .long, help: "The dead-letter partition the --offset values are in (needed when the topic has more than one).")
    var partition: Int32?

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
        if self.all, self.partition != nil {
            throw ValidationError("--partition goes with --offset: --all redrives every partition")
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
                throw CLIError.failed("\(DeadLetterTopic.name(service: self.service, configuration: configuration)) does not exist: \(self.service) has no dead letters")
            }
            self.report(topic: DeadLetterTopic.name(service: self.service, configuration: configuration), group: DeadLetterTopic.redriveGroup(service: self.service), sent: [], skipped: [], failure: nil)
            return
        }
        try await Self.refuseIfRunning(admin: admin, group: topic.redriveGroup, own: 0)

        // What to send, per partition, in offset order.
        var ranges: [Int32: Range<Int64>] = [:]
        var wanted: Set<Int64> = []
        var skipped: [[String: Any]] = []
        if self.all {
            for partition in topic.partitions {
                ranges[partition] = topic.redriveMark[partition]!..<topic.end[partition]!
            }
        } else {
            let partition = try topic.partition(self.partition)
            for offset in Set(self.offset).sorted() {
                try topic.check(partition: partition, offset: offset)
                if offset < topic.redriveMark[partition]! {
                    skipped.append(["partition": Int(partition), "offset": offset, "reason": "already redriven"])
                } else {
                    wanted.insert(offset)
                }
            }
            if let first = wanted.min(), let last = wanted.max() {
                ranges[partition] = first..<(last + 1)
            }
        }
        ranges = ranges.filter { !$0.value.isEmpty }

        var sent: [[String: Any]] = []
        var failure: String?
        if !ranges.isEmpty {
            // The dead letters are read as a member of the redrive group, from its committed
            // offsets, and progress is committed by that member: while it runs, another redrive
            // sees the member and refuses. Those offsets are its own, so the services' reset and
            // commit settings in kafka.properties are not for it.
            var kafka = self.cluster.kafka(configuration)
            for name in ["auto.offset.reset", "topic.auto.offset.reset", "enable.auto.commit", "enable.auto.offset.store"] {
                kafka.properties[name] = nil
            }
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    kafka: kafka,
                    groupID: topic.redriveGroup,
                    sessionTimeout: .milliseconds(configuration.kafka.sessionTimeoutMs),
                    autoOffsetReset: .earliest,
                    isolationLevel: .readUncommitted
                ),
                logger: .cli
            )
            let producer: KafkaProducer? = self.dryRun ? nil : try KafkaProducer(configuration: Self.producerConfiguration(configuration, cluster: self.cluster), logger: .cli)
            let originals = KafkaRangeReader(kafka: self.cluster.kafka(configuration), logger: .cli)
            do {
                try consumer.subscribe(topics: [topic.name])
                failure = try await self.send(
                    topic: topic,
                    ranges: ranges,
                    wanted: wanted,
                    consumer: consumer,
                    producer: producer,
                    originals: originals,
                    admin: admin,
                    timeout: .milliseconds(configuration.kafka.sessionTimeoutMs) + .seconds(30),
                    interrupted: Interruption.watch(),
                    sent: &sent,
                    skipped: &skipped
                )
            } catch {
                await consumer.close()
                await producer?.shutdown()
                throw error
            }
            await consumer.close()
            await producer?.shutdown()
        }
        self.report(topic: topic.name, group: topic.redriveGroup, sent: sent, skipped: skipped, failure: failure)
        if failure != nil { throw ExitCode(1) }
    }

    /// The redrive producer: as large records as the gateway writes (`GatewaySection.largestRecordBytes`),
    /// since a redriven original is one of them; librdkafka's
    /// default of 1,000,000 bytes would refuse the originals too large for a dead letter.
    /// `kafka.properties` still overrides it.
    static func producerConfiguration(_ configuration: HooklineConfiguration, cluster: ClusterOptions) -> KafkaProducerConfiguration {
        var kafka = cluster.kafka(configuration)
        let largest = max(1_000_000, configuration.gateway.largestRecordBytes)
        kafka.properties = ["message.max.bytes": String(largest)].merging(kafka.properties) { _, configured in configured }
        return KafkaProducerConfiguration(kafka: kafka)
    }

    /// Refuses when the redrive group has members besides this run's `own` (0 before joining, 1 after).
    private static func refuseIfRunning(admin: KafkaAdmin, group: String, own: Int) async throws {
        if let description = try await admin.describeConsumerGroups([group]).first, description.members.count > own {
            let others = description.members.count - own
            throw CLIError.refused("\(group) has \(others) \(own == 0 ? "" : "other ")active member(s): another redrive is running")
        }
    }

    /// Joins the group, then reads `ranges` and sends each dead letter wanted (all in range with
    /// --all, else those in `wanted`), committing the moved marks every 100 dead letters or every
    /// second. Gives up when nothing more arrives for `timeout`. Returns what stopped it early, if
    /// anything.
    private func send(
        topic: DeadLetterTopic,
        ranges: [Int32: Range<Int64>],
        wanted: Set<Int64>,
        consumer: KafkaConsumer,
        producer: KafkaProducer?,
        originals: KafkaRangeReader,
        admin: KafkaAdmin,
        timeout: Duration,
        interrupted: Interruption,
        sent: inout [[String: Any]],
        skipped: inout [[String: Any]]
    ) async throws -> String? {
        var deadline = ContinuousClock.now + timeout
        // Wait for the partitions; a redrive that joined at the same time is refused here.
        var checks = 0
        while consumer.assignment.isEmpty {
            guard ContinuousClock.now < deadline else { return "timed out joining \(topic.redriveGroup)" }
            checks += 1
            if checks % 5 == 0 { try await Self.refuseIfRunning(admin: admin, group: topic.redriveGroup, own: 1) }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Self.refuseIfRunning(admin: admin, group: topic.redriveGroup, own: 1)

        var marks = topic.redriveMark
        var committed = topic.redriveMark
        // The letters this run has dealt with (sent, or skipped for good). Also read to deal with
        // each once: a rebalance of the redrive group (another redrive joining before it refuses,
        // a coordinator moving) hands the partition back at the committed mark, behind what this
        // run sent since, and those would be sent again.
        var done: [Int32: Set<Int64>] = [:]
        var remaining = Set(ranges.keys)
        var failure: String?
        // Marks a dead letter handled and, but in a dry run, moves its partition's mark over every
        // one handled without a gap.
        func handled(_ letter: DeadLetter) {
            done[letter.partition, default: []].insert(letter.offset)
            guard producer != nil else { return }
            var mark = marks[letter.partition]!
            if self.all {
                // --all reads each partition in order: everything before this one is handled.
                mark = max(mark, letter.offset + 1)
            }
            while done[letter.partition]!.contains(mark) { mark += 1 }
            marks[letter.partition] = mark
        }
        var lastCommit = ContinuousClock.now
        var sentSinceCommit = 0
        func stopIfInterrupted() -> Bool {
            guard let signal = interrupted.signalName else { return false }
            failure = failure ?? "interrupted (\(signal)) after \(sent.count) sent"
            return true
        }
        reading: while !remaining.isEmpty, ContinuousClock.now < deadline {
            let batch = await consumer.nextBatch(timeout: min(deadline - ContinuousClock.now, .seconds(1)))
            if !batch.isEmpty { deadline = ContinuousClock.now + timeout }
            for record in batch {
                if stopIfInterrupted() { break reading }
                guard let range = ranges[record.partition] else { continue }
                if record.offset >= range.upperBound - 1 { remaining.remove(record.partition) }
                guard range.contains(record.offset), self.all || wanted.contains(record.offset) else { continue }
                guard done[record.partition]?.contains(record.offset) != true else { continue }
                let letter = DeadLetter(record: record)
                guard let original = letter.originalTopic else {
                    skipped.append(["partition": Int(letter.partition), "offset": letter.offset, "reason": "no hookline-dlq-source-topic header"])
                    handled(letter)
                    continue
                }
                let outgoing: Outgoing
                switch await Self.outgoing(letter, originalTopic: original, originals: originals, admin: admin) {
                case .success(let found):
                    outgoing = found
                case .failure(let reason) where reason.isFinal:
                    skipped.append(["partition": Int(letter.partition), "offset": letter.offset, "reason": reason.message])
                    handled(letter)
                    continue
                case .failure(let reason):
                    // Not sent and not marked: the next redrive tries it again, and nothing after
                    // it is sent before it (--all moves the mark in order).
                    failure = "\(topic.name)[\(letter.partition)]@\(letter.offset): \(reason.message); run the redrive again"
                    break reading
                }
                var entry: [String: Any] = [
                    "partition": Int(letter.partition),
                    "offset": letter.offset,
                    "topic": original,
                    "event_id": JSONOutput.orNull(letter.eventID),
                ]
                if letter.payloadOmitted != nil { entry["from_original"] = true }
                if let producer {
                    do {
                        let report = try await producer.send(topic: original, key: outgoing.key, value: outgoing.value, headers: outgoing.headers)
                        entry["to_partition"] = Int(report.partition)
                        entry["to_offset"] = report.offset
                    } catch {
                        failure = "sending \(topic.name)[\(letter.partition)]@\(letter.offset) to \(original): \(error)"
                        break reading
                    }
                }
                handled(letter)
                sent.append(entry)
                if !self.output.json { print(self.line(sent: entry, from: topic.name).terminalSafe()) }
                sentSinceCommit += 1
                if sentSinceCommit >= 100 || lastCommit.duration(to: .now) >= .seconds(1) {
                    if let error = await Self.commit(marks, over: &committed, topic: topic.name, consumer: consumer) {
                        return error
                    }
                    (lastCommit, sentSinceCommit) = (.now, 0)
                }
            }
            if let error = await Self.commit(marks, over: &committed, topic: topic.name, consumer: consumer) {
                return error
            }
            (lastCommit, sentSinceCommit) = (.now, 0)
            if stopIfInterrupted() { break reading }
        }
        // Record what was sent before a failure too.
        if let error = await Self.commit(marks, over: &committed, topic: topic.name, consumer: consumer) {
            return failure.map { "\($0); \(error)" } ?? error
        }
        if failure == nil, !remaining.isEmpty {
            failure = "nothing more arrived from \(topic.name) partitions \(remaining.sorted().map(String.init).joined(separator: ", ")) for \(timeout)"
        }
        return failure
    }

    /// What a redrive sends for one dead letter.
    struct Outgoing {
        var key: [UInt8]
        var value: [UInt8]
        var headers: [KafkaHeader]
    }

    /// Why a dead letter is not sent.
    struct SkipReason: Error {
        var message: String
        /// It never can be (the original is gone, or is another event): skipped and marked
        /// redriven. Otherwise (the original could not be read now) the run stops before it.
        var isFinal = true
    }

    /// The dead letter's own key, value and original headers; for one written without its
    /// payload, the original record read again from its topic, when it is still there and is the
    /// same event (its `ce_id`, where the letter kept it).
    private static func outgoing(
        _ letter: DeadLetter, originalTopic: String, originals: KafkaRangeReader, admin: KafkaAdmin
    ) async -> Result<Outgoing, SkipReason> {
        guard letter.payloadOmitted != nil else {
            return .success(Outgoing(key: letter.record.key ?? [], value: letter.record.value, headers: letter.originalHeaders))
        }
        let origin = letter.origin
        guard let partition = letter.originalPartition, let offset = letter.originalOffset else {
            return .failure(SkipReason(message: "payload omitted and the letter does not say where the original is (\(origin))"))
        }
        let records: [KafkaConsumerMessage]
        do {
            records = try await originals.read(topic: originalTopic, ranges: [partition: offset..<(offset + 1)])
        } catch {
            // A partition that no longer exists is gone for good; anything else (a timeout, a
            // leader down) may pass.
            let exists = try? await admin.listTopics().contains { $0.name == originalTopic && $0.partitions.contains(partition) }
            if exists == false {
                return .failure(SkipReason(message: "payload omitted and the original's partition \(originalTopic)/\(partition) no longer exists"))
            }
            return .failure(SkipReason(message: "payload omitted and the original at \(origin) cannot be read: \(error)", isFinal: false))
        }
        guard let record = records.first(where: { $0.offset == offset }) else {
            return .failure(SkipReason(message: "payload omitted and the original at \(origin) is no longer in the log"))
        }
        if let id = letter.eventID, record.headers.first("ce_id")?.stringValue != id {
            return .failure(SkipReason(message: "payload omitted and the record at \(origin) is not event \(id)"))
        }
        return .success(Outgoing(key: record.key ?? [], value: record.value, headers: record.headers))
    }

    /// Commits the marks that moved since `committed` through the group member; the error, if any.
    private static func commit(_ marks: [Int32: Int64], over committed: inout [Int32: Int64], topic: String, consumer: KafkaConsumer) async -> String? {
        let moved = marks.filter { committed[$0.key] != $0.value }
        guard !moved.isEmpty else { return nil }
        do {
            try await consumer.commit(Dictionary(uniqueKeysWithValues: moved.map { (TopicPartition(topic: topic, partition: $0.key), $0.value) }))
        } catch {
            return "recording the redrive marks \(moved.sorted { $0.key < $1.key }.map { "[\($0.key)]@\($0.value)" }.joined(separator: ", ")): \(error)"
        }
        committed.merge(moved) { $1 }
        return nil
    }

    /// One sent (or, with --dry-run, to be sent) dead letter, as text.
    private func line(sent entry: [String: Any], from topic: String) -> String {
        let from = "\(topic)[\(entry["partition"]!)]@\(entry["offset"]!)"
        let to = entry["to_offset"].map { "\(entry["topic"]!)[\(entry["to_partition"]!)]@\($0)" } ?? "\(entry["topic"]!)"
        let event = (entry["event_id"] as? String).map { " (event \($0))" } ?? ""
        return "\(self.dryRun ? "would send" : "sent") \(from) → \(to)\(event)"
    }

    private func report(topic: String, group: String, sent: [[String: Any]], skipped: [[String: Any]], failure: String?) {
        if self.output.json {
            JSONOutput.print([
                "topic": topic,
                "group": group,
                "dry_run": self.dryRun,
                "sent": sent,
                "skipped": skipped,
                "error": JSONOutput.orNull(failure),
            ])
            return
        }
        // Each sent line was printed as it was sent.
        for entry in skipped {
            print("skipped \(topic)[\(entry["partition"]!)]@\(entry["offset"]!): \(entry["reason"]!)".terminalSafe())
        }
        if let failure { FileHandle.standardError.write(Data("hookline: \(failure)\n".utf8)) }
        print("\(sent.count) \(self.dryRun ? "to redrive" : "redriven"), \(skipped.count) skipped")
    }
}
