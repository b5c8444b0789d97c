import ArgumentParser
import Foundation
import HooklineConfig
import HooklineKafka

/// `hookline dlq show <service> <offset>`: one dead letter's headers and payload.
struct DLQShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one dead letter: its key, every header, and the payload."
    )

    @Argument(help: "The consumer service (services.<name>), such as orders.")
    var service: String

    @Argument(help: "The dead letter's offset (see `hookline dlq list`).")
    var offset: Int64

    @Option(name: .long, help: "The dead-letter topic's partition (needed when it has more than one).")
    var partition: Int32?

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let admin = try self.cluster.admin(configuration)
            guard let topic = try await DeadLetterTopic.load(service: self.service, configuration: configuration, admin: admin) else {
                throw CLIError.failed("\(DeadLetterTopic.name(service: self.service, configuration: configuration)) does not exist: \(self.service) has no dead letters")
            }
            let partition = try topic.partition(self.partition)
            try topic.check(partition: partition, offset: self.offset)
            let reader = KafkaRangeReader(kafka: self.cluster.kafka(configuration), logger: .cli)
            guard let record = try await reader.read(topic: topic.name, ranges: [partition: self.offset..<(self.offset + 1)]).first else {
                throw CLIError.failed("\(topic.name)[\(partition)] has no record at offset \(self.offset)")
            }
            let letter = DeadLetter(record: record)
            let redriven = letter.offset < topic.redriveMark[letter.partition]!
            let payload = WireBytes.printable(record.value)
            let key = record.key.map(WireBytes.printable)

            if self.output.json {
                var object = letter.summary(redriven: redriven)
                object["topic"] = topic.name
                object["key"] = JSONOutput.orNull(key?.text)
                object["key_encoding"] = JSONOutput.orNull(key?.encoding)
                object["headers"] = WireBytes.json(record.headers)
                // A letter written without its payload has none to show, not an empty one.
                object["payload"] = letter.payloadOmitted == nil ? payload.text : NSNull()
                object["payload_encoding"] = letter.payloadOmitted == nil ? payload.encoding : NSNull()
                JSONOutput.print(object)
                return
            }
            print("\(topic.name)[\(letter.partition)]@\(letter.offset)\(redriven ? " (redriven)" : "")")
            print("time: \(letter.timestamp.map { JSONOutput.iso8601(milliseconds: $0) } ?? "-")")
            print("original: \(letter.origin.terminalSafe())")
            print("key: \(record.key.map { WireBytes.shown($0) } ?? "(none)")")
            print("headers:")
            for header in record.headers {
                print("  \(header.key.terminalSafe()): \(header.value.map { WireBytes.shown($0) } ?? "(null)")")
            }
            if let omitted = letter.payloadOmitted {
                print("payload: omitted: \(omitted.terminalSafe())")
                return
            }
            print("payload (\(record.value.count) bytes\(payload.encoding == "base64" ? ", base64" : "")):")
            print(payload.encoding == "utf8" ? payload.text.terminalSafe(keepingLines: true) : payload.text)
        }
    }
}
