import ArgumentParser
import Foundation
import HooklineLag

/// `hookline topics`: every topic, its partitions and end offsets, and message rates from two
/// looks `--interval` seconds apart.
struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List topics with their partitions, end offsets and message rates.",
        discussion: "End offsets are read at read_committed. Rates compare two looks --interval seconds apart."
    )

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Seconds between the two looks rates are measured over.")
    var interval: Double = 1

    func validate() throws {
        if self.interval <= 0 { throw ValidationError("--interval must be positive") }
    }

    func run() async throws {
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let reader = LagReader(admin: try self.cluster.admin(configuration))
            var tracker = LagTracker()
            _ = tracker.record(LagSnapshot(takenAt: Date(), groups: [], topics: try await reader.topics()))
            try await Task.sleep(for: .milliseconds(Int64(self.interval * 1000)))
            let report = tracker.record(LagSnapshot(takenAt: Date(), groups: [], topics: try await reader.topics()))
            self.print(report)
        }
    }

    /// The topics, after the partitions whose end could not be read (left out of the counts and
    /// sums: a topic with its leader down must not read as a smaller one).
    private func print(_ report: LagReport) {
        let topics = report.topics
        if self.output.json {
            struct Output: Encodable {
                var topics: [LagReport.Topic]
                var unreadable: [LagReport.Unreadable]
            }
            let stripped = topics.map { topic in
                var topic = topic
                topic.history = []
                return topic
            }
            let data = (try? LagReport.encoder().encode(Output(topics: stripped, unreadable: report.unreadable))) ?? Data()
            Swift.print(String(decoding: data, as: UTF8.self))
            return
        }
        report.blindSpotLines.forEach { Swift.print($0) }
        guard !topics.isEmpty else { return Swift.print("no topics") }
        var rows: [[String]] = [["TOPIC", "PARTITIONS", "END OFFSETS", "MSG/S", "PER PARTITION (END @ MSG/S)"]]
        for topic in topics {
            let perPartition = topic.partitions.map { "\($0.partition):\($0.end)@\(Self.rate($0.messagesPerSecond))" }
            rows.append([
                topic.topic, String(topic.partitions.count), String(topic.partitions.map(\.end).reduce(0, +)),
                Self.rate(topic.messagesPerSecond), perPartition.joined(separator: " "),
            ])
        }
        Swift.print(Table.render(rows, rightAligned: [1, 2, 3]))
    }

    private static func rate(_ value: Double?) -> String {
        value.map { String(format: "%.1f", $0) } ?? "-"
    }
}
