import ArgumentParser
import HooklineConfig
import HooklineKafka

/// `hookline dlq list <service>`: the latest dead letters, oldest first.
struct DLQList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a service's latest dead letters: offset, origin, reason, attempts, event id, time."
    )

    @Argument(help: "The consumer service (services.<name>), such as orders.")
    var service: String

    @Option(name: .long, help: "Show at most this many, the latest.")
    var limit: Int = 50

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard self.limit > 0 else { throw ValidationError("--limit must be positive.") }
    }

    func run() async throws {
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let admin = try self.cluster.admin(configuration)
            guard let topic = try await DeadLetterTopic.load(service: self.service, configuration: configuration, admin: admin) else {
                let name = DeadLetterTopic.name(service: self.service, configuration: configuration)
                if self.output.json {
                    JSONOutput.print(["topic": name, "records": [Any]()])
                } else {
                    print("No dead letters: \(name) does not exist.")
                }
                return
            }
            var ranges: [Int32: Range<Int64>] = [:]
            for partition in topic.partitions {
                let end = topic.end[partition]!
                ranges[partition] = max(topic.earliest[partition]!, end - Int64(self.limit))..<end
            }
            let reader = KafkaRangeReader(kafka: self.cluster.kafka(configuration), logger: .cli)
            let letters = try await reader.read(topic: topic.name, ranges: ranges)
                .map(DeadLetter.init)
                .sorted { ($0.timestamp ?? 0, $0.partition, $0.offset) < ($1.timestamp ?? 0, $1.partition, $1.offset) }
                .suffix(self.limit)
            let redriven = { (letter: DeadLetter) in letter.offset < topic.redriveMark[letter.partition]! }

            if self.output.json {
                JSONOutput.print(["topic": topic.name, "records": letters.map { $0.summary(redriven: redriven($0)) }])
                return
            }
            guard !letters.isEmpty else {
                print("No dead letters in \(topic.name).")
                return
            }
            print("\(topic.name): \(letters.count) dead letter(s), oldest first")
            var rows = [["PARTITION", "OFFSET", "TIME", "ORIGINAL", "ATTEMPTS", "EVENT ID", "REDRIVEN", "REASON"]]
            for letter in letters {
                rows.append([
                    String(letter.partition),
                    String(letter.offset),
                    letter.timestamp.map { JSONOutput.iso8601(milliseconds: $0) } ?? "-",
                    letter.origin,
                    letter.attempts.map(String.init) ?? "-",
                    letter.eventID ?? "-",
                    redriven(letter) ? "yes" : "no",
                    (letter.reason ?? "-") + (letter.payloadOmitted == nil ? "" : " [payload omitted]"),
                ])
            }
            Table.print(rows)
        }
    }
}
