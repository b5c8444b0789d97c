import ArgumentParser
import Foundation
import HooklineKafka

/// `hookline replay`: moves a stopped consumer group's committed offsets on one topic, so that
/// it reads again from an offset, a time, or the beginning.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move a stopped consumer group's committed offsets on a topic (to an offset, a time or the beginning).",
        discussion: """
            The group must be stopped: while it has members (or is not Empty) the command refuses \
            with exit code 3 and says how many members are active. Prints old → new offset per \
            partition; --dry-run changes nothing, and runs while the group does too (saying it would \
            be refused then). A group without any committed offset (a name \
            mistyped, say) is refused with exit code 1, since moving its offsets would create it; \
            --create gives a new group its first offsets.

            Hookline's consumer services (orders, payments, ci) keep their position in their own \
            database, table kafka_offsets, and start from it when it holds an offset for the \
            partition; only without one do they start from the group's committed offset. So to \
            reprocess with a service: stop it, run this command, then either delete the topic's \
            rows from kafka_offsets in its database (services.<name>.database, default \
            ./data/<name>.sqlite where the service runs: .state/data/ under make run), for example \
            sqlite3 .state/data/orders.sqlite "DELETE FROM kafka_offsets WHERE topic = '<topic>'" \
            (its processed_events table then skips the events it already applied, for \
            services.<name>.dedup_retention_hours, 168 by default), or, to rebuild the service's \
            state from scratch, replay every topic it follows (hookline lag --group <group> lists \
            them) and remove the whole database file: every event still in those topics is \
            applied again, and a topic left out keeps none of its events. Then start the service.
            """
    )

    @Option(name: .long, help: "The consumer group, such as hookline-orders.")
    var group: String

    @Option(name: .long, help: "The topic whose offsets move.")
    var topic: String

    @Option(name: .customLong("to-offset"), help: "Move to this offset (clamped to each partition's earliest..end).")
    var toOffset: Int64?

    @Option(name: .customLong("to-time"), help: "Move to the first record at or after this time: ISO-8601 (2024-05-14T09:00:00Z) or Unix epoch milliseconds.")
    var toTime: String?

    @Flag(name: .customLong("to-earliest"), help: "Move to the earliest offset still in the log.")
    var toEarliest = false

    @Option(name: .long, help: "Only this partition (repeatable). Default: every partition of the topic.")
    var partition: [Int32] = []

    @Flag(name: .customLong("dry-run"), help: "Show the new offsets; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Create the group with these offsets when it has none (a new service's starting point).")
    var create = false

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let targets = [self.toOffset != nil, self.toTime != nil, self.toEarliest].filter { $0 }.count
        guard targets == 1 else { throw ValidationError("Give exactly one of --to-offset, --to-time, --to-earliest.") }
        if let toTime { _ = try Self.milliseconds(toTime) }
    }

    /// `text` as Unix milliseconds: digits are epoch milliseconds, anything else ISO-8601.
    static func milliseconds(_ text: String) throws -> Int64 {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let value = Int64(text) {
            // Before March 1973 in milliseconds, and the seconds of any date since: a whole
            // topic would be replayed for a time typed in seconds.
            guard value >= 100_000_000_000 else {
                throw ValidationError("--to-time \(text) looks like epoch seconds; give milliseconds (\(text)000) or ISO-8601 (2024-05-14T09:00:00Z).")
            }
            return value
        }
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds],
            [.withInternetDateTime],
            [.withFullDate],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) {
                return Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
        }
        throw ValidationError("--to-time \(text) is neither ISO-8601 (2024-05-14T09:00:00Z) nor epoch milliseconds.")
    }

    func run() async throws {
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let admin = try self.cluster.admin(configuration)

            // A running group would overwrite the new offsets with its own: refused, but a dry run
            // (which changes nothing) shows what the replay would do, and says it would be refused.
            let running = try await admin.describeConsumerGroups([self.group]).first.flatMap { group in
                group.members.isEmpty && ["Empty", "Dead", "Unknown"].contains(group.state)
                    ? nil : "group \(self.group) has \(group.members.count) active member(s) (state \(group.state)); stop its consumers, then run replay"
            }
            if let running, !self.dryRun { throw CLIError.refused(running + " again") }
            let old = try await admin.committedOffsets(group: self.group)
            // Committing offsets for a group creates it: a mistyped name would be "replayed", and
            // exit 0, while the real group is left as it was.
            if old.isEmpty, !self.create {
                throw CLIError.failed(
                    "group \(self.group) has no committed offsets (hookline lag lists the groups); to give a new group its first offsets, add --create"
                )
            }
            guard let metadata = try await admin.listTopics().first(where: { $0.name == self.topic }) else {
                throw CLIError.failed("topic \(self.topic) does not exist")
            }
            let selected = self.partition.isEmpty ? metadata.partitions : Set(self.partition).sorted()
            if let missing = selected.first(where: { !metadata.partitions.contains($0) }) {
                throw CLIError.failed("topic \(self.topic) has no partition \(missing) (partitions: \(metadata.partitions.map(String.init).joined(separator: ", ")))")
            }
            let partitions = selected.map { TopicPartition(topic: self.topic, partition: $0) }
            let bounds = try await admin.watermarks(topics: [metadata], isolationLevel: .readUncommitted)

            var new: [TopicPartition: Int64] = [:]
            if let toOffset = self.toOffset {
                for partition in partitions {
                    new[partition] = min(max(toOffset, bounds[partition]?.earliest ?? 0), bounds[partition]?.end ?? 0)
                }
            } else if let toTime = self.toTime {
                let byTime = try await admin.listOffsets(partitions, .timestamp(try Self.milliseconds(toTime)), isolationLevel: .readUncommitted)
                for partition in partitions {
                    // No record at or after the time: the end, so only newer records are read.
                    let offset = byTime[partition] ?? -1
                    new[partition] = offset < 0 ? bounds[partition]?.end ?? 0 : offset
                }
            } else {
                for partition in partitions { new[partition] = bounds[partition]?.earliest ?? 0 }
            }

            if !self.dryRun {
                try await admin.alterCommittedOffsets(group: self.group, offsets: new)
            }

            if self.output.json {
                JSONOutput.print([
                    "group": self.group,
                    "topic": self.topic,
                    "dry_run": self.dryRun,
                    "refused_while_running": JSONOutput.orNull(running),
                    "partitions": partitions.map { partition -> [String: Any] in
                        ["partition": Int(partition.partition), "old": JSONOutput.orNull(old[partition]), "new": new[partition]!]
                    },
                ])
                return
            }
            print("group \(self.group), topic \(self.topic)\(self.dryRun ? " (dry run: nothing changed)" : ""):")
            for partition in partitions {
                print("  partition \(partition.partition): \(old[partition].map(String.init) ?? "none") → \(new[partition]!)")
            }
            if let running { print("Without --dry-run this would be refused now: \(running) without --dry-run.") }
            if !self.dryRun {
                print("Committed. Hookline services start from their own database's offsets: see `hookline replay --help`.")
            }
        }
    }
}
