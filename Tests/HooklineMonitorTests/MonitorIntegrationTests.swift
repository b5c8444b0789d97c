import Foundation
import HooklineKafka
import HooklineLag
import HooklineTestSupport
import Testing

/// `hookline lag`, the monitor's `/metrics` and the admin API, against the real embedded broker.
@Suite("Lag: CLI and monitor against the broker", .serialized, .timeLimit(.minutes(3)))
struct MonitorIntegrationTests {
    @Test("hookline lag and /metrics agree with end − committed while a group is stopped and after it catches up; a group without commits shows no commit; an idle group's series expire")
    func lagAgrees() async throws {
        let broker = try await monitorBroker()
        defer { broker.stop() }
        let scenario = try await LagScenario(broker: broker)
        let gateway = try await RunningGateway.start(gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])]))
        let accepted = try await post(gateway, source: "github", provider: "github", secret: "s3cret", body: Array(#"{"zen":"hi"}"#.utf8), event: "ping")
        let refused = try await post(gateway, source: "github", provider: "github", secret: "wrong", body: Array(#"{"zen":"hi"}"#.utf8), event: "ping")
        #expect(accepted.status / 100 == 2)
        #expect(refused.status == 401)
        // A dead-letter redrive mark: a group with lag and never any member, which the monitor leaves out.
        let redrive = TestKafka.uniqueName("hookline-dlq-redrive")
        try await scenario.admin.alterCommittedOffsets(group: redrive, offsets: [TopicPartition(topic: scenario.topic, partition: 0): 0])
        let silent = "http://127.0.0.1:\(try freeLoopbackPort())"
        // A configured service that has never run: no group anywhere.
        let down = TestKafka.uniqueName("hookline-down")
        let monitor = try await MonitorProcess(broker: broker, gateways: [gateway.baseURL, silent], services: ["idle": scenario.neverCommitted, "down": down])

        // Stopped with lag and no members: STOPPED once the window (3 s) has passed.
        #expect(try await eventually { try await self.status(monitor, scenario.stopped) == Double(LagStatus.stopped.rawValue) })
        let lagging = try await scenario.expectedLag()
        #expect(lagging.values.reduce(0, +) == 20)
        #expect(try await self.metricLags(monitor, scenario) == lagging)
        let cli = try await self.cliLag(broker)
        let stopped = try #require(cli.groups.first { $0.group == scenario.stopped })
        #expect(Dictionary(uniqueKeysWithValues: stopped.partitions.map { ($0.partition, $0.lag) }) == lagging.mapValues { Optional($0) })
        #expect(stopped.partitions.allSatisfy { $0.lag == $0.end - $0.committed! })
        // A single look tells the time lag too: from the first unconsumed record's timestamp. So
        // does the monitor, which started after those records were written.
        try self.expectTimeLag(of: stopped, takenAt: cli.takenAt, writtenIn: scenario.unconsumedWritten)
        let monitored = try #require(try await self.report(monitor))
        try self.expectTimeLag(of: try #require(monitored.groups.first { $0.group == scenario.stopped }), takenAt: monitored.takenAt, writtenIn: scenario.unconsumedWritten)
        // The same time lag as a series, hookline_consumergroup_lag_seconds, for each lagging
        // partition: since its first unconsumed record was written, to the monitor's look.
        // A path it does not serve: a JSON 404, as every Hookline server answers.
        let unknown = try await monitor.get("/nope")
        #expect(unknown.status == 404 && unknown.body == #"{"error":"not_found","message":"Not Found"}"#, "\(unknown)")
        let ages = parseMetrics(try await monitor.get("/metrics").body)
            .filter { $0.name == "hookline_consumergroup_lag_seconds" && $0.labels["group"] == scenario.stopped && $0.labels["topic"] == scenario.topic }
        #expect(Set(ages.compactMap { $0.labels["partition"].flatMap { Int32($0) } }) == Set(lagging.filter { $0.value > 0 }.keys))
        let oldest = Date().timeIntervalSince(scenario.unconsumedWritten.lowerBound) + 2
        #expect(ages.allSatisfy { $0.value > 0 && $0.value < oldest }, "\(ages)")
        // --watch: one JSON object per look, each flushed as it is made.
        let watched = try await run(
            try builtBinary("hookline"),
            ["lag", "--brokers", broker.bootstrapServers, "--group", scenario.stopped, "--json", "--watch", "--interval", "0.5"],
            timeout: .seconds(3)
        )
        let looks = try watched.stdout.split(separator: "\n").map { try LagReport.decoder().decode(LagReport.self, from: Data($0.utf8)) }
        #expect(looks.count >= 2)
        #expect(looks.allSatisfy { $0.groups.first?.lag == 20 })
        // Seconds of looks, not the 120 s window: a stopped group is not called OK.
        #expect(looks.allSatisfy { $0.groups.first?.status == .ok && $0.groups.first?.judged == false })
        let oneLook = try await run(try builtBinary("hookline"), ["lag", "--brokers", broker.bootstrapServers, "--group", scenario.stopped])
        #expect(oneLook.status == 0)
        #expect(oneLook.stdout.contains("STATUS -: lag, but fewer than 120 s of looks to judge it by"), "\(oneLook.stdout)")
        let unjudged = oneLook.stdout.split(separator: "\n").filter { $0.contains(scenario.topic) && $0.trimmingCharacters(in: .whitespaces).hasSuffix(" -") }
        let laggingPartitions = try #require(looks.last?.groups.first).partitions.filter { ($0.lag ?? 0) > 0 }
        #expect(!laggingPartitions.isEmpty && unjudged.count == laggingPartitions.count, "\(oneLook.stdout)")
        for look in looks { try self.expectTimeLag(of: look.groups[0], takenAt: look.takenAt, writtenIn: scenario.unconsumedWritten) }

        // One look as a check for scripts: exit 2 over a threshold, naming the group and why; 0 within.
        let overLag = try await self.cliCheck(broker, scenario.stopped, ["--max-lag", "19"])
        #expect(overLag.status == 2)
        #expect(overLag.stdout.contains("CHECK FAILED:\n  \(scenario.stopped): lag 20 is over --max-lag 19\n"), "\(overLag.stdout)")
        let within = try await self.cliCheck(broker, scenario.stopped, ["--max-lag", "20", "--max-time-lag", "3600"])
        #expect(within.status == 0 && !within.stdout.contains("CHECK FAILED"), "\(within.stdout)")
        // The time lag read from the first unconsumed record's timestamp, exact: over 0 s. With
        // --json, standard output is the report alone and the reasons go to standard error.
        let overTime = try await self.cliCheck(broker, scenario.stopped, ["--max-time-lag", "0", "--json"])
        #expect(overTime.status == 2)
        #expect(try LagReport.decoder().decode(LagReport.self, from: Data(overTime.stdout.utf8)).groups.first?.lag == 20)
        #expect(overTime.stderr.contains("hookline: check failed: \(scenario.stopped): time lag "), "\(overTime.stderr)")
        #expect(overTime.stderr.contains(" is over --max-time-lag 0 s\n") && !overTime.stderr.contains("at least"), "\(overTime.stderr)")
        let watching = try await self.cliCheck(broker, scenario.stopped, ["--max-lag", "0", "--watch"])
        #expect(watching.status == 64 && watching.stderr.contains("leave out --watch"), "\(watching.stderr)")

        // A group that never committed (named: the embedded broker lists only groups with
        // commits): "no commit" everywhere, a status but no lag series.
        let never = try #require(try await self.cliLag(broker, group: scenario.neverCommitted).groups.first)
        #expect(never.group == scenario.neverCommitted)
        #expect(never.members == 1)
        #expect(never.lag == nil)
        #expect(never.partitions.allSatisfy { $0.committed == nil && $0.lag == nil })
        let text = try await run(try builtBinary("hookline"), ["lag", "--brokers", broker.bootstrapServers, "--group", scenario.neverCommitted])
        #expect(text.status == 0)
        #expect(text.stdout.contains(scenario.neverCommitted) && text.stdout.contains("no commit"))
        let metrics = parseMetrics(try await monitor.get("/metrics").body)
        #expect(metrics.contains { $0.name == "hookline_consumergroup_status" && $0.labels["group"] == scenario.neverCommitted && $0.value == 0 })
        #expect(!metrics.contains { $0.name == "hookline_consumergroup_lag" && $0.labels["group"] == scenario.neverCommitted })
        #expect(!metrics.contains { $0.labels["group"] == redrive })

        // The configured service that has not joined is named (one series, in the report, and
        // before hookline lag's table), and is not a group with a status; the one with a member is not.
        #expect(metrics.filter { $0.name == "hookline_monitor_group_absent" }.map(\.labels) == [["group": down]])
        #expect(metrics.contains { $0.name == "hookline_monitor_group_absent" && $0.value == 1 })
        let withAbsent = try #require(try await self.report(monitor))
        #expect(withAbsent.absentGroups == [down])
        #expect(!withAbsent.groups.contains { $0.group == down })
        let configured = try await run(try builtBinary("hookline"), ["lag", "--config", monitor.directory.appendingPathComponent("hookline.yaml").path])
        #expect(configured.status == 0)
        #expect(configured.stdout.contains("ABSENT: 1 configured group has no member and no commit"), "\(configured.stdout)")
        #expect(configured.stdout.contains(down), "\(configured.stdout)")
        // A check cannot vouch for a service that is not there, however high the threshold.
        let absentChecked = try await run(
            try builtBinary("hookline"), ["lag", "--config", monitor.directory.appendingPathComponent("hookline.yaml").path, "--max-lag", "1000000"]
        )
        #expect(absentChecked.status == 2)
        #expect(absentChecked.stdout.contains("\n  \(down): absent (configured, but no member and no commit)\n"), "\(absentChecked.stdout)")

        // Gateway traffic from the gateway's own /metrics, one series per gateway. One look may
        // find the in-process gateway slow to answer under a loaded test run (up 0, no traffic,
        // and the monitor says why in its log), so the next looks are awaited.
        let answered = try await eventually {
            let metrics = parseMetrics(try await monitor.get("/metrics").body)
            guard metrics.contains(where: { $0.name == "hookline_monitor_gateway_up" && $0.labels["gateway"] == gateway.baseURL && $0.value == 1 }) else { return false }
            let requests = Dictionary(
                metrics.filter { $0.name == "hookline_monitor_gateway_requests_total" && $0.labels["gateway"] == gateway.baseURL }
                    .map { ($0.labels["class"]!, $0.value) },
                uniquingKeysWith: +
            )
            #expect(requests == ["2xx": 1, "4xx": 1])
            #expect(metrics.contains { $0.name == "hookline_monitor_gateway_published_total" && $0.labels == ["gateway": gateway.baseURL] && $0.value == 1 })
            #expect(metrics.contains { $0.name == "hookline_monitor_gateway_records_in_flight" && $0.labels == ["gateway": gateway.baseURL] && $0.value == 0 })
            return true
        }
        #expect(answered, "the monitor never saw the gateway answer; its log: \(monitor.log)")
        // A gateway nobody listens for: up 0 and no traffic series (a sum over whichever answered
        // would read as a counter reset), and one warning with the reason, not one a look.
        let afterLooks = parseMetrics(try await monitor.get("/metrics").body)
        #expect(afterLooks.filter { $0.labels["gateway"] == silent }.map(\.name) == ["hookline_monitor_gateway_up"])
        #expect(afterLooks.contains { $0.name == "hookline_monitor_gateway_up" && $0.labels["gateway"] == silent && $0.value == 0 })
        let warnings = monitor.log.split(separator: "\n").filter { $0.contains("did not answer") && $0.contains(silent) }
        #expect(warnings.count == 1, "\(monitor.log)")
        #expect(warnings.first?.contains("\(silent)/metrics: ") == true)
        #expect(metrics.contains { $0.name == "hookline_monitor_snapshot_failures_total" && $0.value == 0 })
        #expect(metrics.contains { $0.name == "hookline_monitor_last_success_timestamp_seconds" && abs($0.value - Date().timeIntervalSince1970) < 30 })

        // Caught up: lag 0 everywhere, status back to OK.
        try await scenario.catchUp()
        #expect(try await eventually { try await self.status(monitor, scenario.stopped) == 0 })
        let caughtUp = try await scenario.expectedLag()
        #expect(caughtUp.values.allSatisfy { $0 == 0 })
        #expect(try await self.metricLags(monitor, scenario) == caughtUp)
        let after = try #require(try await self.cliLag(broker).groups.first { $0.group == scenario.stopped })
        #expect(after.partitions.map(\.lag) == [0, 0, 0])
        #expect(after.status == .ok)
        let caughtUpCheck = try await self.cliCheck(broker, scenario.stopped, ["--max-lag", "0", "--max-time-lag", "0"])
        #expect(caughtUpCheck.status == 0, "\(caughtUpCheck.stdout)")

        // Everyone leaves: caught up, no members, nothing moving; after the window (3 s) the
        // group expires and its series disappear.
        await scenario.close()
        #expect(try await eventually { try await self.status(monitor, scenario.stopped) == nil })
        // The configured group that never committed has no member now: absent too.
        #expect(try await eventually { try await self.report(monitor)?.absentGroups == [down, scenario.neverCommitted].sorted() })
        let expired = parseMetrics(try await monitor.get("/metrics").body)
        let groupSeries = expired.filter { $0.labels["group"] == scenario.stopped || $0.labels["group"] == scenario.neverCommitted }
        #expect(groupSeries.map(\.name) == ["hookline_monitor_group_absent"], "only the configured group's absence is left")
        #expect(expired.contains { $0.name == "hookline_topic_end_offset" && $0.labels["topic"] == scenario.topic })

        #expect(await monitor.terminate() == 0, "\(monitor.ending)")
        await gateway.stop()
    }

    @Test("hookline lag --watch keeps showing a group caught up and without members past the window, which the monitor lets go: --group G does not turn into \"no consumer groups\"")
    func watchKeepsAnIdleGroup() async throws {
        let broker = try await TestKafka.broker()
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("idle")
        let group = TestKafka.uniqueName("idle-group")
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        _ = try await produceNumbered(broker, topic: topic, count: 1)
        try await admin.alterCommittedOffsets(group: group, offsets: [TopicPartition(topic: topic, partition: 0): 1])
        let config = try writeConfiguration(#"kafka: { brokers: "\#(broker.bootstrapServers)" }"# + "\nmonitor: { interval_seconds: 1, window_seconds: 1 }")

        let watched = try await run(try builtBinary("hookline"), ["lag", "--config", config, "--group", group, "--json", "--watch", "--interval", "0.5"], timeout: .seconds(6))
        let looks = try watched.stdout.split(separator: "\n").map { try LagReport.decoder().decode(LagReport.self, from: Data($0.utf8)) }
        // Looks over two windows at least (a loaded machine starts the binary late, or answers slowly).
        let span = looks.last.map { $0.takenAt.timeIntervalSince(looks[0].takenAt) } ?? 0
        #expect(span >= 2, "\(watched)")
        #expect(looks.allSatisfy { $0.groups.map(\.group) == [group] && $0.groups.first?.lag == 0 }, "\(looks.map { $0.groups.map(\.group) })")
    }

    @Test("time lag: the monitor's estimate is how long ago the first unconsumed record was written")
    func timeLag() async throws {
        let broker = try await monitorBroker()
        defer { broker.stop() }
        let admin = try TestKafka.admin(broker)
        let topic = TestKafka.uniqueName("timelag")
        let group = TestKafka.uniqueName("timelag")
        let partition = TopicPartition(topic: topic, partition: 0)
        try await admin.createTopics([.init(name: topic, partitions: 1)])
        let producer = try TestKafka.producer(broker)
        for _ in 0..<5 { _ = try await producer.send(topic: topic, value: [0]) }
        try await admin.alterCommittedOffsets(group: group, offsets: [partition: 5])
        let monitor = try await MonitorProcess(broker: broker, window: 30)

        // Caught up and watched for a while; then five records arrive and nobody reads them.
        #expect(try await eventually { try await self.partition(monitor, group)?.lag == 0 })
        try await Task.sleep(for: .seconds(2))
        let written = Date()
        for _ in 0..<5 { _ = try await producer.send(topic: topic, value: [0]) }
        await producer.shutdown()
        try await Task.sleep(for: .seconds(3))

        let row = try #require(try await self.partition(monitor, group))
        let elapsed = Date().timeIntervalSince(written)
        #expect(row.lag == 5)
        #expect(!row.lagSecondsIsLowerBound)
        // Within one interval (0.5 s) and the snapshot's own delay of the truth.
        #expect(abs(try #require(row.lagSeconds) - elapsed) < 1.5, "estimated \(row.lagSeconds ?? -1) s, written \(elapsed) s ago")
        #expect(await monitor.terminate() == 0, "\(monitor.ending)")
    }

    @Test("hookline topics lists partitions, end offsets and a rate measured over two looks")
    func topics() async throws {
        let broker = try await monitorBroker()
        defer { broker.stop() }
        let topic = TestKafka.uniqueName("topics")
        let admin = try TestKafka.admin(broker)
        try await admin.createTopics([.init(name: topic, partitions: 2)])
        let producer = try TestKafka.producer(broker)
        for index in 0..<10 { _ = try await producer.send(topic: topic, key: Array("k\(index)".utf8), value: [0]) }
        // Keep writing while the command looks twice, so the rate cannot be zero.
        let writer = Task {
            for index in 0..<40 {
                _ = try await producer.send(topic: topic, key: Array("w\(index)".utf8), value: [0])
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let output = try await run(try builtBinary("hookline"), ["topics", "--brokers", broker.bootstrapServers, "--json", "--interval", "1"])
        try await writer.value
        await producer.shutdown()
        #expect(output.status == 0)
        struct Output: Decodable { var topics: [LagReport.Topic] }
        let listed = try #require(try LagReport.decoder().decode(Output.self, from: Data(output.stdout.utf8)).topics.first { $0.topic == topic })
        #expect(listed.partitions.map(\.partition) == [0, 1])
        #expect(listed.partitions.map(\.end).reduce(0, +) >= 10)
        #expect(try #require(listed.messagesPerSecond) > 0)
    }

    // MARK: Helpers

    /// The report `/api/status` serves, nil before the first snapshot.
    private func report(_ monitor: MonitorProcess) async throws -> LagReport? {
        struct Status: Decodable { var lag: LagReport? }
        return try LagReport.decoder().decode(Status.self, from: Data(try await monitor.get("/api/status").body.utf8)).lag
    }

    /// The group's first partition as `/api/status` reports it.
    private func partition(_ monitor: MonitorProcess, _ group: String) async throws -> LagReport.Partition? {
        try await self.report(monitor)?.groups.first { $0.group == group }?.partitions.first
    }

    /// `hookline_consumergroup_status{group}`, nil while the group has no series.
    private func status(_ monitor: MonitorProcess, _ group: String) async throws -> Double? {
        parseMetrics(try await monitor.get("/metrics").body)
            .first { $0.name == "hookline_consumergroup_status" && $0.labels["group"] == group }?.value
    }

    /// `hookline_consumergroup_lag` of the scenario's stopped group, by partition.
    private func metricLags(_ monitor: MonitorProcess, _ scenario: LagScenario) async throws -> [Int32: Int64] {
        // The lag series and the status come from one snapshot; wait one interval so the
        // snapshot postdates the expected values just read.
        try await Task.sleep(for: .seconds(1.2))
        let samples = parseMetrics(try await monitor.get("/metrics").body)
            .filter { $0.name == "hookline_consumergroup_lag" && $0.labels["group"] == scenario.stopped && $0.labels["topic"] == scenario.topic }
        return Dictionary(uniqueKeysWithValues: samples.map { (Int32($0.labels["partition"]!)!, Int64($0.value)) })
    }

    /// Every lagging partition of `group` has an exact time lag (not a lower bound) that dates
    /// its first unconsumed record within `writtenIn` (give or take a second of timestamp rounding).
    private func expectTimeLag(of group: LagReport.Group, takenAt: Date, writtenIn: ClosedRange<Date>) throws {
        let lagging = group.partitions.filter { ($0.lag ?? 0) > 0 }
        #expect(!lagging.isEmpty)
        for partition in lagging {
            #expect(!partition.lagSecondsIsLowerBound, "\(partition.topic)[\(partition.partition)]")
            let written = takenAt.addingTimeInterval(-(try #require(partition.lagSeconds)))
            #expect(
                writtenIn.lowerBound.addingTimeInterval(-1) <= written && written <= writtenIn.upperBound.addingTimeInterval(1),
                "time lag \(partition.lagSeconds ?? -1) s dates the record at \(written), written in \(writtenIn)"
            )
        }
        #expect(group.lagSeconds == lagging.compactMap(\.lagSeconds).max())
    }

    /// `hookline lag --json [--group G]`, run as the built binary.
    /// `hookline lag --group G` with check options: its exit status and output.
    private func cliCheck(_ broker: EmbeddedBroker, _ group: String, _ options: [String]) async throws -> BinaryOutput {
        try await run(try builtBinary("hookline"), ["lag", "--brokers", broker.bootstrapServers, "--group", group] + options)
    }

    private func cliLag(_ broker: EmbeddedBroker, group: String? = nil) async throws -> LagReport {
        let output = try await run(try builtBinary("hookline"), ["lag", "--brokers", broker.bootstrapServers, "--json"] + (group.map { ["--group", $0] } ?? []))
        try #require(output.status == 0, "hookline lag failed: \(output.stderr)")
        return try LagReport.decoder().decode(LagReport.self, from: Data(output.stdout.utf8))
    }
}
