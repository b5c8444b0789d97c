import ArgumentParser
import Foundation
import HooklineConfig
import HooklineKafka
import HooklineWebhooks

/// `hookline tail [<source> [<event>]]`: the latest webhooks the gateways published, and with
/// `--follow` each one as it is written. Reads by assignment: no group, nothing committed.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the latest webhooks published (time, topic, offset, type, id, key, size); --follow for new ones.",
        discussion: """
            With no source, every configured source's topics (every topic under the prefix but \
            the dead-letter topics when the configuration names no source). With --follow, topics \
            created later (an event type's first webhook) are picked up within 2 s, from their \
            first record; Ctrl-C stops. With --json, one JSON object {"records": […]}, or with \
            --follow one object per line, each with every header and, with --payload, the body.
            """
    )

    @Argument(help: "A source (sources.<name>), such as github. Every source when left out.")
    var source: String?

    @Argument(help: "One event of that source, as its topic names it (push, merge_request, orders.create; orders/create is the same topic).")
    var event: String?

    @Option(name: [.customShort("n"), .long], help: "Show the latest this many first (at most 10000).")
    var last: Int = 10

    @Flag(name: [.customShort("f"), .long], help: "Then show each new webhook as it is written, until Ctrl-C.")
    var follow = false

    @Flag(name: .long, help: "Show each webhook's body too.")
    var payload = false

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (0...10_000).contains(self.last) else { throw ValidationError("--last must be 0 to 10000.") }
    }

    func run() async throws {
        let interruption = self.follow ? Interruption.watch() : nil
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let admin = try self.cluster.admin(configuration)
            let selection = TailSelection(
                prefix: configuration.kafka.topicPrefix,
                sources: configuration.sources.keys.sorted(),
                source: self.source,
                event: self.event,
                listedEvents: self.source.flatMap { configuration.sources[$0]?.events }
            )
            if let note = selection.note { FileHandle.standardError.write(Data("hookline: \(note)\n".utf8)) }
            let topics = try await admin.listTopics().filter { selection.matches($0.name) }
            if topics.isEmpty, let source = self.source, configuration.sources[source] == nil {
                let known = configuration.sources.keys.sorted().joined(separator: ", ")
                throw CLIError.failed("no source named \(source) in the configuration (\(known.isEmpty ? "none" : known)), and no topic \(selection.description)")
            }
            // A partition whose offsets cannot be read now (its leader down) is left out, named on
            // standard error, rather than failing the rest; --follow takes it up once it can.
            let partitions = topics.flatMap(\.topicPartitions)
            let watermarks = try await admin.watermarksOfEach(partitions, isolationLevel: .readUncommitted)
            let bounds = watermarks.compactMapValues { try? $0.get() }
            var unreadable: [TopicPartition: KafkaError] = [:]
            for partition in partitions where bounds[partition] == nil {
                guard case .failure(let error)? = watermarks[partition] else {
                    unreadable[partition] = KafkaError(code: .unknownTopicOrPartition, message: "no answer", operation: "listing offsets of \(partition)")
                    continue
                }
                unreadable[partition] = error
            }
            for (partition, error) in unreadable.sorted(by: { $0.key.description < $1.key.description }) {
                FileHandle.standardError.write(Data("hookline: \(partition) left out: \(error)\n".utf8))
            }
            let reader = KafkaRangeReader(kafka: self.cluster.kafka(configuration), logger: .cli)
            var ranges: [TopicPartition: Range<Int64>] = [:]
            for (partition, bound) in bounds {
                ranges[partition] = max(bound.earliest, bound.end - Int64(self.last))..<bound.end
            }
            let latest = try await reader.read(ranges)
                .sorted { ($0.timestamp ?? 0, $0.topic, $0.partition, $0.offset) < ($1.timestamp ?? 0, $1.topic, $1.partition, $1.offset) }
                .suffix(self.last)
            guard let interruption else {
                if self.output.json {
                    JSONOutput.print(["records": latest.map { TailRecord($0).object(payload: self.payload) }])
                } else if latest.isEmpty, self.last > 0 {
                    print("No webhooks in \(selection.description).")
                } else {
                    for record in latest { self.show(record) }
                }
                return
            }
            for record in latest { self.show(record) }
            FileHandle.standardError.write(Data("hookline: following \(selection.description) (\(topics.count) topic(s) now); Ctrl-C stops\n".utf8))
            var following = Following(next: bounds.mapValues(\.end), waiting: Set(unreadable.keys))
            try await following.run(selection: selection, admin: admin, reader: reader, interruption: interruption, show: self.show)
        }
    }

    /// One record: a line (its body below it with --payload), or a JSON line with --json.
    private func show(_ record: KafkaConsumerMessage) {
        let tail = TailRecord(record)
        if self.output.json {
            printUnbuffered(JSONOutput.line(tail.object(payload: self.payload)))
            return
        }
        printUnbuffered(tail.line)
        if self.payload { printUnbuffered(WireBytes.shown(record.value, keepingLines: true)) }
    }

}

/// Where `hookline tail --follow` is in each partition, kept up with the topics as they come and go.
struct Following {
    /// Partition → the offset to show next.
    var next: [TopicPartition: Int64]
    /// Partitions of topics there at the start whose end could not be read yet: followed from
    /// their end once it can be.
    var waiting: Set<TopicPartition>

    /// Shows each record as it comes until interrupted. Every 2 s it looks at the topics again:
    /// a new one is read from its first record, one deleted is let go (and read from its first
    /// record should it come back), a waiting partition starts at its end once that can be read.
    /// A look or an assignment that fails is tried again at the next look.
    mutating func run(
        selection: TailSelection,
        admin: KafkaAdmin,
        reader: KafkaRangeReader,
        interruption: Interruption,
        show: (KafkaConsumerMessage) -> Void
    ) async throws {
        let consumer = try KafkaConsumer(configuration: reader.configuration, logger: .cli)
        var assigned = self.next.isEmpty
        var lastLook = ContinuousClock.now
        while interruption.signalName == nil {
            if !assigned {
                do {
                    try consumer.assign(self.next.mapValues { .offset($0) })
                    assigned = true
                } catch {
                    FileHandle.standardError.write(Data("hookline: \(error) (tried again in 2 s)\n".utf8))
                }
            }
            // A record fetched before a reassignment can come again after it: shown once.
            for record in await consumer.nextBatch(timeout: .milliseconds(250)) where record.offset >= self.next[record.topicPartition] ?? .max {
                self.next[record.topicPartition] = record.offset + 1
                show(record)
            }
            guard ContinuousClock.now - lastLook >= .seconds(2) else { continue }
            lastLook = .now
            guard let topics = try? await admin.listTopics().filter({ selection.matches($0.name) }) else { continue }
            if await self.look(at: Set(topics.flatMap(\.topicPartitions)), admin: admin) { assigned = false }
        }
        await consumer.close()
    }

    /// Brings the partitions up to date with `current`, the partitions there now; true when they changed.
    mutating func look(at current: Set<TopicPartition>, admin: KafkaAdmin) async -> Bool {
        let gone = Set(self.next.keys).union(self.waiting).subtracting(current)
        for partition in gone {
            self.next[partition] = nil
            self.waiting.remove(partition)
        }
        let added = current.subtracting(self.next.keys).subtracting(self.waiting)
        for partition in added { self.next[partition] = 0 }
        var started = false
        if !self.waiting.isEmpty, let ends = try? await admin.listOffsetsOfEach(Array(self.waiting), .latest, isolationLevel: .readUncommitted) {
            for case (let partition, .success(let end)) in ends where self.waiting.contains(partition) {
                self.waiting.remove(partition)
                self.next[partition] = end
                started = true
            }
        }
        return !gone.isEmpty || !added.isEmpty || started
    }
}

/// Which topics `hookline tail` reads.
struct TailSelection: CustomStringConvertible {
    /// Exact topic names, or name prefixes ending in `.`.
    let patterns: [String]
    /// Dead-letter topics, left out when no source is configured to select by.
    let excluded: String?
    /// What to tell the user of the selection before its records.
    private(set) var note: String?

    /// - Parameter listedEvents: the source's `events:`, when it lists them: an event left out is
    ///   in the source's `unknown` topic, as the gateway routes it.
    init(prefix: String, sources: [String], source: String?, event: String?, listedEvents: [String]? = nil) {
        // The gateway's own naming, so `orders/create` finds shop.orders.create.
        func topic(_ source: String, _ event: String) -> String { WebhookTopic.name(prefix: prefix, source: source, event: event) }
        func everyTopic(of source: String) -> String { String(topic(source, "x").dropLast()) }
        switch (source, event) {
        case (let source?, let event?):
            let name = WebhookTopic.eventName(event)
            if let listedEvents, name != WebhookTopic.unknownEvent, !listedEvents.map(WebhookTopic.eventName).contains(name) {
                self.patterns = [topic(source, WebhookTopic.unknownEvent)]
                self.note = "\(event) is not in sources.\(source).events, so the gateway puts it in \(self.patterns[0]) with every other event left out there; its lines show their type"
            } else {
                self.patterns = [topic(source, event)]
            }
            self.excluded = nil
        case (let source?, nil):
            self.patterns = [everyTopic(of: source)]
            self.excluded = nil
        case (nil, _) where !sources.isEmpty:
            self.patterns = sources.map(everyTopic)
            self.excluded = nil
        case (nil, _):
            self.patterns = [prefix.isEmpty ? "" : prefix + "."]
            self.excluded = everyTopic(of: WebhookTopic.deadLetterSource)
        }
    }

    func matches(_ topic: String) -> Bool {
        if let excluded, topic.hasPrefix(excluded) { return false }
        return self.patterns.contains { $0.hasSuffix(".") || $0.isEmpty ? topic.hasPrefix($0) : topic == $0 }
    }

    var description: String {
        self.patterns.map { $0.hasSuffix(".") || $0.isEmpty ? $0 + "*" : $0 }.joined(separator: ", ")
    }
}

/// A published webhook as `hookline tail` shows it, from the record the gateway wrote.
struct TailRecord {
    let record: KafkaConsumerMessage

    init(_ record: KafkaConsumerMessage) {
        self.record = record
    }

    func header(_ name: String) -> String? {
        self.record.headers.last { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    var time: String { self.record.timestamp.map { JSONOutput.iso8601(milliseconds: $0) } ?? "-" }

    /// `TIME TOPIC[PARTITION]@OFFSET TYPE id=ID key=KEY SIZE`, wire text shown, not sent.
    var line: String {
        [
            self.time,
            "\(self.record.topic)[\(self.record.partition)]@\(self.record.offset)",
            (self.header("ce_type") ?? "-").terminalSafe(),
            "id=\((self.header("ce_id") ?? "-").terminalSafe())",
            "key=\(self.record.key.map { WireBytes.shown($0) } ?? "-")",
            "\(self.record.value.count) B",
        ].joined(separator: "  ")
    }

    /// The record for `--json`, with every header; its body only with `payload`.
    func object(payload: Bool) -> [String: Any] {
        let key = self.record.key.map(WireBytes.printable)
        var object: [String: Any] = [
            "topic": self.record.topic,
            "partition": Int(self.record.partition),
            "offset": self.record.offset,
            "time": JSONOutput.orNull(self.record.timestamp.map { JSONOutput.iso8601(milliseconds: $0) }),
            "type": JSONOutput.orNull(self.header("ce_type")),
            "id": JSONOutput.orNull(self.header("ce_id")),
            "key": JSONOutput.orNull(key?.text),
            "key_encoding": JSONOutput.orNull(key?.encoding),
            "size": self.record.value.count,
            "headers": WireBytes.json(self.record.headers),
        ]
        guard payload else { return object }
        let body = WireBytes.printable(self.record.value)
        object["payload"] = body.text
        object["payload_encoding"] = body.encoding
        return object
    }
}
