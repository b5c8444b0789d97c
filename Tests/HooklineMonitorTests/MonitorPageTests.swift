import Foundation
import HooklineConfig
import HooklineLag
@testable import HooklineMonitor
import HooklineTestSupport
import Hummingbird
import Testing

/// The monitor's page in a real headless Chromium. `HOOKLINE_SCREENSHOTS=DIR` (relative to the
/// package root) also saves `monitor-lagging.png` and `monitor-caught-up.png` there.
@Suite("Monitor page in headless Chromium", .serialized, .timeLimit(.minutes(3)))
struct MonitorPageTests {
    @Test("the page lists the groups, with lag and a non-OK status while a group is stopped, and lag 0 and OK after it catches up; it says a gateway does not answer and how many records await the broker")
    func page() async throws {
        let broker = try await monitorBroker()
        defer { broker.stop() }
        let scenario = try await LagScenario(broker: broker)
        // A gateway nobody listens for: its traffic is left out and the page says so.
        let silent = "http://127.0.0.1:\(try freeLoopbackPort())"
        // A gateway whose one webhook waits for its batch until the gateway stops (which flushes
        // it): the page counts it as awaiting the broker. 20 s of linger ran out under a loaded
        // clean-clone CI run before Chromium had rendered the page.
        var holding = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])], ackTimeoutMs: 150_000)
        holding.kafka.properties["linger.ms"] = "120000"
        let gateway = try await RunningGateway.start(holding)
        let monitor = try await MonitorProcess(broker: broker, gateways: [silent, gateway.baseURL], services: ["idle": scenario.neverCommitted])

        #expect(try await eventually { try await self.apiStatus(monitor, scenario.stopped) == .stopped })
        let held = Task { try await post(gateway, source: "github", provider: "github", secret: "s3cret", body: Array(#"{"zen":"hi"}"#.utf8), event: "ping") }
        #expect(try await eventually { try await self.recordsInFlight(monitor, gateway.baseURL) == 1 })
        let lagging = try await self.render(monitor)
        let stoppedRow = try #require(self.groupRow(lagging, scenario.stopped))
        #expect(stoppedRow.status != "OK")
        #expect(stoppedRow.lag == "20")
        let neverRow = try #require(self.groupRow(lagging, scenario.neverCommitted))
        #expect(neverRow.lag == "")
        #expect(lagging.contains("no commit"))
        // Partitions that never got a record nor a commit are counted, not listed one by one.
        let sparse = try #require(lagging.firstRange(of: #"<span class="topic">\#(scenario.sparseTopic)</span> ["#).map { String(lagging[$0.lowerBound...].prefix(300)) })
        #expect(sparse.contains(#"1/1 lag 0 · <span class="nocommit" title="partitions "#) && sparse.contains(#": no records, no commit">2 empty</span>"#), "\(sparse)")
        #expect(lagging.contains(#"data-topic="\#(scenario.topic)""#))
        #expect(lagging.contains(#"data-down="1""#) && lagging.contains("1 of 2 not answering</div>"))
        #expect(lagging.contains(#"title="\#(silent)/metrics: "#), "the reason is the tile's tooltip")
        #expect(lagging.contains(#"data-in-flight="1">1 awaiting the broker</div>"#))
        try await self.screenshot(monitor, "monitor-lagging.png")
        // Stopping the gateway flushes its producer: the held webhook is written and answered.
        await gateway.stop()
        #expect(try await held.value.status == 202)

        try await scenario.catchUp()
        #expect(try await eventually { try await self.apiStatus(monitor, scenario.stopped) == .ok })
        let caughtUp = try await self.render(monitor)
        let row = try #require(self.groupRow(caughtUp, scenario.stopped))
        #expect(row.status == "OK")
        #expect(row.lag == "0")
        try await self.screenshot(monitor, "monitor-caught-up.png")

        #expect(await monitor.terminate() == 0, "\(monitor.ending)")
        await scenario.close()
    }

    @Test("with the broker out of reach from the start, the page says why and still shows the gateways, which answer 503 then")
    func gatewaysWithoutASnapshot() async throws {
        let nowhere = "127.0.0.1:\(try freeLoopbackPort())"
        let silent = "http://127.0.0.1:\(try freeLoopbackPort())"
        let monitor = try await MonitorProcess(brokers: nowhere, gateways: [silent], awaiting: "/healthz")
        #expect(try await eventually { try await self.status(monitor).gateways.first?.url == silent })
        let page = try await self.render(monitor, loaded: false)
        #expect(page.contains("waiting for the first snapshot"))
        #expect(page.contains(#"data-down="1""#) && page.contains("1 of 1 not answering</div>"), "\(page)")
        #expect(await monitor.terminate() == 0, "\(monitor.ending)")
    }

    @Test("partitions whose end offset the last look could not read (a leader down), groups it could not read (a coordinator down) and configured groups that have not joined are named above the tables")
    func unreadablePartitions() async throws {
        // The monitor's own routes and state, serving what its tracker makes of such a look (a
        // single embedded broker cannot lose a partition's leader).
        var tracker = LagTracker()
        let topics = [TopicOffsets(topic: "webhooks.github.push", ends: [0: 5], unreadable: [1: "Broker: Leader not available (LEADER_NOT_AVAILABLE)"])]
        let ci = GroupOffsets(groupID: "hookline-ci", state: "Stable", members: 1, partitions: [PartitionOffsets(topic: "webhooks.github.push", partition: 0, committed: 3, end: 5)])
        _ = tracker.record(LagSnapshot(takenAt: Date().addingTimeInterval(-5), groups: [ci], topics: topics))
        let look = LagSnapshot(
            takenAt: Date(), groups: [], topics: topics, unreadableGroups: ["hookline-ci": "Broker: Coordinator not available (COORDINATOR_NOT_AVAILABLE)"],
            absentGroups: ["hookline-payments"]
        )
        let state = MonitorState(interval: .seconds(2))
        state.publish(tracker.record(look), gateways: [])
        let (baseURL, serving) = try await Self.serve(state)
        defer { serving.cancel() }

        let page = try await self.render(baseURL)
        #expect(page.contains(#"id="unreadable" data-count="2""#), "\(page.prefix(3000))")
        #expect(page.contains("1 partition left out of the last look, their end offset could not be read: webhooks.github.push[1] (Broker: Leader not available (LEADER_NOT_AVAILABLE))"))
        #expect(page.contains("1 group could not be read at the last look, shown as at the one before: hookline-ci (Broker: Coordinator not available (COORDINATOR_NOT_AVAILABLE))"))
        #expect(page.contains(#"data-group="hookline-ci" data-status="OK" data-lag="2""#), "the group as at its last look")
        #expect(page.contains(#"data-topic="webhooks.github.push""#), "the readable partitions are still shown")
        #expect(page.contains(#"id="absent" data-count="1""#), "\(page.prefix(3000))")
        #expect(page.contains("1 configured group has no member and no commit (the service is not running, has not joined yet: it joins once one of its topics exists, or has never committed): hookline-payments"))
    }

    @Test("a last success older than three intervals is said above the tables, by the monitor's clock; a fresh one is not")
    func staleSnapshot() async throws {
        var tracker = LagTracker()
        let topics = [TopicOffsets(topic: "webhooks.github.push", ends: [0: 5])]
        let lastSuccess = Date().addingTimeInterval(-60)
        let state = MonitorState(interval: .seconds(2))
        state.publish(tracker.record(LagSnapshot(takenAt: lastSuccess, groups: [], topics: topics)), gateways: [], at: lastSuccess)
        let (baseURL, serving) = try await Self.serve(state)
        defer { serving.cancel() }

        let page = try await self.render(baseURL)
        let age = try #require(page.firstMatch(of: /id="stale" data-age="([0-9]+)"/).map { Int($0.1) ?? 0 }, "\(page.prefix(3000))")
        #expect((60...120).contains(age))
        #expect(page.contains("No snapshot has succeeded for \(age) s (the monitor looks every 2 s): what is shown is as of then."))

        // Before any success: since the monitor started.
        let starting = MonitorState(interval: .seconds(2), startedAt: Date().addingTimeInterval(-60))
        let (startingURL, startingServer) = try await Self.serve(starting)
        defer { startingServer.cancel() }
        let waiting = try await self.render(startingURL, loaded: false)
        #expect(waiting.firstMatch(of: /No snapshot has succeeded in the [0-9]+ s since the monitor started \(it looks every 2 s\)\./) != nil, "\(waiting.prefix(3000))")

        state.publish(tracker.record(LagSnapshot(takenAt: Date(), groups: [], topics: topics)), gateways: [])
        let fresh = try await self.render(baseURL)
        #expect(fresh.contains(#"id="stale" data-age="""#) && fresh.contains(#"data-polls="#), "\(fresh.prefix(3000))")
    }

    @Test("the page keeps the charts it was sent and asks only for the points after its last report; /api/status?since= sends no older point")
    func chartsSentOnce() async throws {
        var tracker = LagTracker()
        let first = Date().addingTimeInterval(-200)
        var report: LagReport?
        for look in 0..<30 {
            let end = Int64(look * 7)
            report = tracker.record(
                LagSnapshot(
                    takenAt: first.addingTimeInterval(Double(look) * 5),
                    groups: [GroupOffsets(groupID: "orders", state: "Stable", members: 1, partitions: [PartitionOffsets(topic: "webhooks.shop.orders.create", partition: 0, committed: end - 2, end: end)])],
                    topics: [TopicOffsets(topic: "webhooks.shop.orders.create", ends: [0: end])]
                )
            )
        }
        let takenAt = try #require(report?.takenAt.timeIntervalSince1970)
        let state = MonitorState(interval: .seconds(5))
        state.publish(try #require(report), gateways: [])
        let (baseURL, serving) = try await Self.serve(state)
        defer { serving.cancel() }

        let whole = try #require(try await self.status(baseURL).lag)
        #expect(whole.groups.map(\.history.count) == [30] && whole.topics.map(\.history.count) == [30])
        let after = try #require(try await self.status(baseURL, query: "?since=\(takenAt - 1)").lag)
        #expect(after.groups.map(\.history.count) == [1] && after.topics.map(\.history.count) == [1])
        #expect(after.groups.first?.partitions == whole.groups.first?.partitions, "only the charts are cut")
        let none = try #require(try await self.status(baseURL, query: "?since=\(takenAt)").lag)
        #expect(none.groups.map(\.history.count) == [0] && none.topics.map(\.history.count) == [0])
        let bad = try await get("\(baseURL)/api/status?since=yesterday")
        #expect(bad.status == 400 && bad.body.contains(#""error":"bad_query""#))

        // The first poll is whole, the next ones ask since the report they have and get no
        // point: the charts drawn are still all 30 looks (29 rates for the topic).
        let page = try await self.render(baseURL)
        let polls = try #require(page.firstMatch(of: /data-polls="([0-9]+)"/).map { Int($0.1) ?? 0 })
        #expect(polls >= 2, "\(polls) polls")
        // Every poll after the first asked only for the points since (the server cuts them, above).
        let partial = try #require(page.firstMatch(of: /data-partial-polls="([0-9]+)"/).map { Int($0.1) ?? 0 }, "no poll asked with ?since=")
        #expect(partial >= polls - 1, "\(partial) of \(polls) polls asked with ?since=")
        #expect(page.contains(#"<svg class="spark" data-points="30""#), "the group's chart")
        #expect(page.contains(#"<svg class="spark" data-points="29""#), "the topic's rate chart")
    }

    // MARK: Helpers

    /// The monitor's routes over `state`, on a free loopback port, until the task is cancelled.
    private static func serve(_ state: MonitorState) async throws -> (baseURL: String, serving: Task<Void, any Error>) {
        let port = try freeLoopbackPort()
        let application = Application(router: MonitorApplication.router(state), configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let serving = Task { try await application.runService() }
        let baseURL = "http://127.0.0.1:\(port)"
        #expect(try await eventually { (try? await get("\(baseURL)/healthz").status) == 200 })
        return (baseURL, serving)
    }

    /// The group's status as `/api/status` gives it.
    private func apiStatus(_ monitor: MonitorProcess, _ group: String) async throws -> LagStatus? {
        try await self.status(monitor).lag?.groups.first { $0.group == group }?.status
    }

    /// The gateway's records in flight as `/api/status` gives them.
    private func recordsInFlight(_ monitor: MonitorProcess, _ gateway: String) async throws -> Int? {
        try await self.status(monitor).gateways.first { $0.url == gateway }?.inFlight
    }

    private func status(_ monitor: MonitorProcess) async throws -> MonitorStatusShape {
        try LagReport.decoder().decode(MonitorStatusShape.self, from: Data(try await monitor.get("/api/status").body.utf8))
    }

    private func status(_ baseURL: String, query: String = "") async throws -> MonitorStatusShape {
        let body = try await get("\(baseURL)/api/status\(query)").body
        return try LagReport.decoder().decode(MonitorStatusShape.self, from: Data(body.utf8))
    }

    private struct MonitorStatusShape: Decodable {
        var lag: LagReport?
        var gateways: [Gateway]

        struct Gateway: Decodable {
            var url: String
            var inFlight: Int
        }
    }

    /// The page's DOM after its script has run, as Chromium serializes it; `loaded`: with a
    /// snapshot drawn.
    private func render(_ monitor: MonitorProcess, loaded: Bool = true) async throws -> String {
        try await self.render(monitor.baseURL, loaded: loaded)
    }

    private func render(_ baseURL: String, loaded: Bool = true) async throws -> String {
        let output = try await run(try Self.chromium(), Self.chromiumArguments + ["--dump-dom", "\(baseURL)/"])
        try #require(output.status == 0, "chromium failed: \(output.stderr.suffix(2000))")
        try #require(!loaded || output.stdout.contains(#"data-loaded="true""#), "the page did not load its data")
        return output.stdout
    }

    private func screenshot(_ monitor: MonitorProcess, _ name: String) async throws {
        guard let directory = ProcessInfo.processInfo.environment["HOOKLINE_SCREENSHOTS"] else { return }
        let path = EmbeddedBroker.packageRoot().appendingPathComponent(directory).appendingPathComponent(name).path
        let output = try await run(try Self.chromium(), Self.chromiumArguments + ["--window-size=1280,760", "--screenshot=\(path)", "\(monitor.baseURL)/"])
        #expect(output.status == 0)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// `<tr class="group" data-group="…" data-status="…" data-lag="…">`
    private func groupRow(_ dom: String, _ group: String) -> (status: String, lag: String)? {
        let pattern = #"<tr class="group" data-group="\#(group)" data-status="([A-Z]+)" data-lag="([0-9]*)">"#
        guard let match = dom.range(of: pattern, options: .regularExpression) else { return nil }
        let row = String(dom[match])
        let status = row.components(separatedBy: #"data-status=""#)[1].prefix { $0 != "\"" }
        let lag = row.components(separatedBy: #"data-lag=""#)[1].prefix { $0 != "\"" }
        return (String(status), String(lag))
    }

    private static var chromiumArguments: [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--user-data-dir=\(FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("chromium")).path)",
            "--virtual-time-budget=4000",
        ]
    }

    private static func chromium() throws -> URL {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        throw EmbeddedBrokerError(message: "no chromium; run `scripts/setup.sh --browser` (make test does)")
    }
}
