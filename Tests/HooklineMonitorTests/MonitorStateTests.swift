import Foundation
@testable import HooklineLag
@testable import HooklineMonitor
import Testing

/// The monitor's state and metrics without a broker.
@Suite("Monitor state: staleness and per-gateway series")
struct MonitorStateTests {
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    private func report(at date: Date) -> LagReport {
        LagReport(takenAt: date, windowSeconds: 120, isolationLevel: "read_committed", groups: [], topics: [])
    }

    private func metrics(_ state: MonitorState) -> [MetricSample] {
        parseMetrics(String(decoding: state.metrics, as: UTF8.self))
    }

    private func value(_ name: String, in metrics: [MetricSample]) -> Double? {
        metrics.first { $0.name == name }?.value
    }

    @Test("failed snapshots are counted, the last success ages, and /readyz turns 503 after three intervals")
    func staleness() {
        let state = MonitorState(interval: .seconds(5), startedAt: self.start)
        #expect(state.notReadyReason(now: self.start) != nil)
        #expect(self.value("hookline_monitor_last_success_timestamp_seconds", in: self.metrics(state)) == self.start.timeIntervalSince1970)
        #expect(self.value("hookline_monitor_snapshot_failures_total", in: self.metrics(state)) == 0)
        #expect(self.value("hookline_monitor_interval_seconds", in: self.metrics(state)) == 5)

        let success = self.start.addingTimeInterval(5)
        state.publish(self.report(at: success), gateways: [], at: success)
        #expect(state.notReadyReason(now: success.addingTimeInterval(1)) == nil)
        #expect(self.value("hookline_monitor_last_success_timestamp_seconds", in: self.metrics(state)) == success.timeIntervalSince1970)

        state.fail("broker down", gateways: [])
        state.fail("broker down", gateways: [])
        #expect(self.value("hookline_monitor_snapshot_failures_total", in: self.metrics(state)) == 2)
        #expect(self.value("hookline_monitor_last_success_timestamp_seconds", in: self.metrics(state)) == success.timeIntervalSince1970)
        #expect(state.notReadyReason(now: success.addingTimeInterval(14)) == nil)
        let reason = state.notReadyReason(now: success.addingTimeInterval(16))
        #expect(reason?.contains("broker down") == true)

        let later = success.addingTimeInterval(20)
        state.publish(self.report(at: later), gateways: [], at: later)
        #expect(state.notReadyReason(now: later) == nil)
        #expect(state.status.error == nil && state.status.lastSuccessAt == later)
    }

    @Test("partitions and groups the snapshot could not read are counted in gauges that are always there")
    func unreadablePartitions() {
        var report = self.report(at: self.start)
        #expect(self.value("hookline_monitor_partitions_unreadable", in: parseMetrics(String(decoding: MonitorMetrics.render(report), as: UTF8.self))) == 0)
        #expect(self.value("hookline_monitor_groups_unreadable", in: parseMetrics(String(decoding: MonitorMetrics.render(report), as: UTF8.self))) == 0)
        report.unreadable = [.init(topic: "t", partition: 0, error: "down"), .init(topic: "t", partition: 3, error: "down")]
        report.unreadableGroups = [.init(group: "g", error: "down")]
        let metrics = parseMetrics(String(decoding: MonitorMetrics.render(report), as: UTF8.self))
        #expect(self.value("hookline_monitor_partitions_unreadable", in: metrics) == 2)
        #expect(self.value("hookline_monitor_groups_unreadable", in: metrics) == 1)
    }

    @Test("a configured group that has not joined has a series of its own, for an alert to name; the others have none")
    func absentGroups() {
        var report = self.report(at: self.start)
        #expect(!parseMetrics(String(decoding: MonitorMetrics.render(report), as: UTF8.self)).contains { $0.name == "hookline_monitor_group_absent" })
        report.absentGroups = ["hookline-ci", "hookline-payments"]
        let absent = parseMetrics(String(decoding: MonitorMetrics.render(report), as: UTF8.self)).filter { $0.name == "hookline_monitor_group_absent" }
        #expect(Set(absent.map(\.labels)) == [["group": "hookline-ci"], ["group": "hookline-payments"]])
        #expect(absent.allSatisfy { $0.value == 1 })
    }

    /// The figures docs/monitoring.md gives for `/api/status` with and without `since`.
    @Test("at 300 topics of 6 partitions and 10 groups reading 30 of them, a whole status is about 1.6 MB and one with only the last look's chart points about 0.45 MB")
    func statusSizeWithSince() throws {
        var tracker = LagTracker()
        var report: LagReport?
        for look in 0...120 {
            let topics = (0..<300).map { index in
                TopicOffsets(topic: "webhooks.stripe.event_type_\(index)", ends: Dictionary(uniqueKeysWithValues: (0..<6).map { (Int32($0), Int64(look * 10 + index)) }))
            }
            let groups = (0..<10).map { group in
                GroupOffsets(groupID: "service-\(group)", state: "Stable", members: 2, partitions: (0..<30).flatMap { index in
                    (0..<6).map { PartitionOffsets(topic: "webhooks.stripe.event_type_\(group * 30 + index)", partition: Int32($0), committed: Int64(look * 10 + index - 3), end: Int64(look * 10 + index)) }
                })
            }
            report = tracker.record(LagSnapshot(takenAt: self.start.addingTimeInterval(Double(look) * 5), groups: groups, topics: topics))
        }
        let whole = try #require(report)
        func size(_ report: LagReport) throws -> Int {
            try LagReport.encoder().encode(MonitorStatus(ready: true, error: nil, intervalSeconds: 5, lastSuccessAt: report.takenAt, lag: report, gateways: [])).count
        }
        let all = try size(whole)
        let since = try size(whole.chartPoints(after: whole.takenAt.timeIntervalSince1970 - 1))
        #expect(all > 1_400_000 && all < 1_800_000, "\(all) bytes")
        #expect(since > 400_000 && since < 500_000, "\(since) bytes")
    }

    @Test("gateway traffic is one series per gateway, and none for a gateway that did not answer")
    func perGateway() {
        let a = GatewayTraffic(url: "http://a:8080", up: true, requests: ["2xx": 5, "5xx": 2], published: 5, inFlight: 3)
        let b = GatewayTraffic(url: "http://b:8080", up: false, requests: [:], published: 0, inFlight: 0)
        let metrics = parseMetrics(String(decoding: MonitorMetrics.render(self.report(at: self.start), gateways: [a, b]), as: UTF8.self))
        let requests = metrics.filter { $0.name == "hookline_monitor_gateway_requests_total" }
        #expect(Set(requests.map { "\($0.labels["gateway"]!) \($0.labels["class"]!) \($0.value)" }) == ["http://a:8080 2xx 5.0", "http://a:8080 5xx 2.0"])
        #expect(metrics.contains { $0.name == "hookline_monitor_gateway_5xx_total" && $0.labels == ["gateway": "http://a:8080"] && $0.value == 2 })
        #expect(metrics.contains { $0.name == "hookline_monitor_gateway_published_total" && $0.labels == ["gateway": "http://a:8080"] && $0.value == 5 })
        #expect(metrics.contains { $0.name == "hookline_monitor_gateway_records_in_flight" && $0.labels == ["gateway": "http://a:8080"] && $0.value == 3 })
        #expect(!metrics.contains { $0.labels["gateway"] == "http://b:8080" && $0.name != "hookline_monitor_gateway_up" })
        #expect(metrics.contains { $0.name == "hookline_monitor_gateway_up" && $0.labels["gateway"] == "http://b:8080" && $0.value == 0 })
    }

    @Test("while snapshots of the cluster fail, the gateways' series stay current and the last report's stay as they were")
    func gatewaysStayCurrentWhileSnapshotsFail() {
        let state = MonitorState(interval: .seconds(5), startedAt: self.start)
        let answering = GatewayTraffic(url: "http://a:8080", up: true, requests: ["2xx": 5], published: 5, inFlight: 0)
        var report = self.report(at: self.start)
        report.topics = [LagReport.Topic(topic: "webhooks.github.push", partitions: [LagReport.TopicPartitionEnd(partition: 0, end: 7, messagesPerSecond: nil)], messagesPerSecond: nil, history: [])]
        state.publish(report, gateways: [answering], at: self.start)
        let before = parseMetrics(String(decoding: state.metrics, as: UTF8.self))

        let failing = GatewayTraffic(url: "http://a:8080", up: true, requests: ["2xx": 5, "5xx": 40], published: 5, inFlight: 12)
        state.fail("broker down", gateways: [failing])
        let after = parseMetrics(String(decoding: state.metrics, as: UTF8.self))
        #expect(after.contains { $0.name == "hookline_monitor_gateway_5xx_total" && $0.value == 40 })
        #expect(after.contains { $0.name == "hookline_monitor_gateway_records_in_flight" && $0.value == 12 })
        #expect(state.status.gateways.first?.requests["5xx"] == 40)
        let lagSeries = { (metrics: [MetricSample]) in metrics.filter { $0.name.hasPrefix("hookline_consumergroup_") || $0.name.hasPrefix("hookline_topic_") }.map { "\($0.name) \($0.labels.sorted { $0.key < $1.key }) \($0.value)" } }
        #expect(!lagSeries(before).isEmpty)
        #expect(lagSeries(after) == lagSeries(before))
    }

    @Test("a gateway's /metrics text: requests summed by status class, published summed over topics, records in flight as given")
    func parsesGatewayMetrics() {
        let text = """
            # TYPE hookline_gateway_requests_total counter
            hookline_gateway_requests_total{source="github",status="202"} 7
            hookline_gateway_requests_total{source="stripe",status="200"} 2
            hookline_gateway_requests_total{source="github",status="401"} 1
            hookline_gateway_messages_published_total{topic="webhooks.github.push"} 6
            hookline_gateway_messages_published_total{topic="webhooks.stripe.charge.succeeded"} 2
            # TYPE hookline_gateway_records_in_flight gauge
            hookline_gateway_records_in_flight 4
            """
        let traffic = GatewayTraffic.parse(text, url: "http://a:8080")
        #expect(traffic == GatewayTraffic(url: "http://a:8080", up: true, requests: ["2xx": 9, "4xx": 1], published: 8, inFlight: 4))
    }
}
