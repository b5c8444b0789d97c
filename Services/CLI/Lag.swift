import ArgumentParser
import Foundation
import HooklineConfig
import HooklineLag

/// `hookline lag`: per group, topic and partition the committed offset, the end offset, the lag
/// and the time lag; once, or again every `--interval` with `--watch`.
struct Lag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show consumer-group lag: committed and end offsets, lag and time lag per partition.",
        discussion: """
            Lag is the end offset (read_committed) minus the committed offset, never below zero; a \
            partition the group never committed shows "no commit". Time lag is how long ago the \
            first record the group has not consumed was written: estimated from the end offsets \
            seen while watching, and where they do not reach back that far (a single look) read \
            from that record's timestamp, without joining the group or moving its offsets; "≥" \
            marks a lower bound, when that record could not be read. With --json, --watch prints \
            one JSON object per line. A look that fails while watching is reported (on standard error, or \
            with --json as a line {"error": …, "taken_at": …}) and the watch goes on.

            --max-lag and --max-time-lag make one look a check for scripts: it exits 2, naming \
            each reason after the table (on standard error with --json), when a group's lag or \
            time lag is over the threshold, and also when the look cannot vouch for a group: a \
            configured group that is absent, a partition or group it could not read, a lagging \
            partition without a commit or (with --max-time-lag) whose time lag it cannot tell.
            """
    )

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Only this consumer group.")
    var group: String?

    @Flag(name: .long, help: "Look again every --interval seconds until interrupted.")
    var watch = false

    @Option(name: .long, help: "Seconds between two looks with --watch.")
    var interval: Double = 2

    @Option(name: .customLong("max-lag"), help: "Exit 2 when a group's lag (summed over its partitions) is over this many records.")
    var maxLag: Int64?

    @Option(name: .customLong("max-time-lag"), help: "Exit 2 when a group's time lag is over this many seconds.")
    var maxTimeLag: Double?

    func validate() throws {
        if self.interval <= 0 { throw ValidationError("--interval must be positive") }
        if let maxLag = self.maxLag, maxLag < 0 { throw ValidationError("--max-lag must be 0 or more") }
        if let maxTimeLag = self.maxTimeLag, !(maxTimeLag >= 0) { throw ValidationError("--max-time-lag must be 0 or more") }
        if self.check != nil, self.watch { throw ValidationError("--max-lag and --max-time-lag check one look; leave out --watch") }
    }

    /// The thresholds, when any is given.
    private var check: LagCheck? {
        self.maxLag == nil && self.maxTimeLag == nil ? nil : LagCheck(maxLag: self.maxLag, maxLagSeconds: self.maxTimeLag)
    }

    func run() async throws {
        try await self.output.reporting {
            let configuration = try self.cluster.load()
            let reader = LagReader(admin: try self.cluster.admin(configuration))
            // A watch shows every group it has seen, idle ones too (the monitor lets those go
            // after the window): `--group G` would otherwise say "no consumer groups" of a G that
            // is there, caught up and without members.
            let window = TimeInterval(configuration.monitor.windowSeconds)
            var tracker = LagTracker(evaluator: StatusEvaluator(window: window, expireAfter: .infinity))
            var recordTimes = RecordTimes(kafka: self.cluster.kafka(configuration), logger: .cli)
            while true {
                let snapshot: LagSnapshot
                do {
                    snapshot = try await reader.snapshot(group: self.group, knownGroups: configuration.serviceGroups)
                } catch {
                    // One failed look (a broker restarting, a timeout) does not end a watch.
                    guard self.watch else { throw error }
                    self.reportLookFailed(error)
                    try await Task.sleep(for: .milliseconds(Int64(self.interval * 1000)))
                    continue
                }
                if let group = self.group, snapshot.groups.isEmpty {
                    throw CLIError.failed("no consumer group named \(group)")
                }
                var report = tracker.record(snapshot)
                await recordTimes.fill(&report)
                self.print(report)
                if let check = self.check { try self.hold(report, to: check) }
                guard self.watch else { return }
                try await Task.sleep(for: .milliseconds(Int64(self.interval * 1000)))
            }
        }
    }

    private func print(_ report: LagReport) {
        if self.output.json {
            var report = report
            report.topics = []
            for index in report.groups.indices { report.groups[index].history = [] }
            let data = (try? LagReport.encoder().encode(report)) ?? Data()
            printUnbuffered(String(decoding: data, as: UTF8.self))
            return
        }
        if self.watch { printUnbuffered("— \(report.takenAt.formatted(date: .omitted, time: .standard))") }
        // Said first: the table below is missing these partitions, and a group's total with them.
        report.blindSpotLines.forEach(printUnbuffered)
        guard !report.groups.isEmpty else { return printUnbuffered("no consumer groups") }
        var rows: [[String]] = [["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "TIME LAG", "STATUS"]]
        for group in report.groups {
            let header = "\(group.group) (\(group.state), \(group.members) member\(group.members == 1 ? "" : "s"))"
            if group.partitions.isEmpty {
                rows.append([header, "-", "-", "no commit", "-", "-", "-", group.status.name])
            }
            for (index, partition) in group.partitions.enumerated() {
                rows.append([
                    index == 0 ? header : "", partition.topic, String(partition.partition),
                    partition.committed.map(String.init) ?? "no commit",
                    String(partition.end),
                    partition.lag.map(String.init) ?? "-",
                    Self.timeLag(partition),
                    partition.judged ? partition.status.name : "-",
                ])
            }
        }
        printUnbuffered(Table.render(rows, rightAligned: [2, 3, 4, 5, 6]))
        if report.groups.contains(where: { !$0.judged }) {
            // One look cannot tell a stopped consumer from a busy one: OK would be a guess.
            let window = Int(report.windowSeconds)
            printUnbuffered("STATUS -: lag, but fewer than \(window) s of looks to judge it by; run with --watch, or see hookline-monitor's page.")
        }
    }

    /// Ends with exit code 2 when `report` fails `check`, after naming why: below the table, or
    /// on standard error with --json (standard output holding only the report).
    private func hold(_ report: LagReport, to check: LagCheck) throws {
        let failures = check.failures(in: report)
        guard !failures.isEmpty else { return }
        if self.output.json {
            FileHandle.standardError.write(Data(failures.map { "hookline: check failed: \($0)\n" }.joined().utf8))
        } else {
            (["CHECK FAILED:"] + failures.map { "  " + $0 }).forEach(printUnbuffered)
        }
        throw ExitCode(2)
    }

    /// A look of --watch that failed: a JSON line `{"error", "taken_at"}` with --json (`taken_at` in
    /// seconds since 1970, as a report's), else a line on standard error.
    private func reportLookFailed(_ error: any Error) {
        let message = "\(error) (still watching)"
        if self.output.json {
            let line: [String: Any] = ["error": message, "taken_at": Date().timeIntervalSince1970]
            let data = (try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])) ?? Data()
            printUnbuffered(String(decoding: data, as: UTF8.self))
        } else {
            FileHandle.standardError.write(Data("hookline: \(message)\n".utf8))
        }
    }


    static func timeLag(_ partition: LagReport.Partition) -> String {
        guard let seconds = partition.lagSeconds else { return "-" }
        let text = seconds < 90 ? "\(Int(seconds.rounded())) s" : seconds < 5400 ? "\(Int((seconds / 60).rounded())) min" : String(format: "%.1f h", seconds / 3600)
        if partition.lagSecondsIsLowerBound { return seconds < 1 ? "?" : "≥ \(text)" }
        return text
    }
}
