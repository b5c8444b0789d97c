import Foundation
import HooklineLag
import Testing

@Suite("Report shape and the groups left out")
struct ReportTests {
    @Test("a partition with lag is not judged until its looks cover the window: one look of a group with no members and lag is OK only for want of evidence, STOPPED once the window is covered; no lag is judged at once")
    func judgedOnceTheWindowIsCovered() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 120))
        let first = try #require(tracker.record(snapshot(at: 0, groups: [group("g", members: 0, [("t", 0, 10, 50_010), ("t", 1, 7, 7)])])).groups.first)
        #expect(first.partitions.map(\.status) == [.ok, .ok])
        #expect(first.partitions.map(\.judged) == [false, true])
        #expect(!first.judged)
        var last: LagReport.Group?
        for second in stride(from: 30.0, through: 120, by: 30) {
            last = tracker.record(snapshot(at: second, groups: [group("g", members: 0, [("t", 0, 10, 50_010), ("t", 1, 7, 7)])])).groups.first
        }
        #expect(last?.partitions.map(\.status) == [.stopped, .ok])
        #expect(last?.judged == true)
    }

    @Test("a commit ahead of an end offset read a moment earlier is lag 0, not negative, in the partition and in the group's total, and no status comes of it")
    func lagIsFlooredAtZero() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        let report = tracker.record(snapshot(at: 0, groups: [group("g", members: 1, [("t", 0, 12, 10), ("t", 1, 5, 10)])]))
        let judged = try #require(report.groups.first)
        #expect(judged.partitions.map(\.lag) == [0, 5])
        #expect(judged.lag == 5)
        #expect(judged.partitions.map(\.status) == [.ok, .ok])
        #expect(OffsetSample(at: at(0), committed: 12, end: 10).lag == 0)
    }

    @Test("a group's status is its worst partition's by severity, not by gauge code: a partition rewound by a replay does not hide a stalled one, which pages")
    func rewindDoesNotHideStalled() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        var report: LagReport?
        for second in stride(from: 0.0, through: 60, by: 5) {
            // Partition 0 stuck at 10 with lag and members; partition 1 rewound from 100 to 0 at 55 s.
            let rewound: Int64 = second < 55 ? 100 : 0
            report = tracker.record(snapshot(at: second, groups: [group("g", members: 1, [("t", 0, 10, 50), ("t", 1, rewound, 100)])]))
        }
        let judged = try #require(report?.groups.first)
        #expect(judged.partitions.map(\.status) == [.stalled, .rewind])
        #expect(judged.status == .stalled)
        #expect(judged.statusCode == 2)
        #expect([LagStatus.ok, .warn, .rewind, .stalled, .stopped].shuffled().sorted() == [.ok, .warn, .rewind, .stalled, .stopped])
    }

    @Test("a partition whose end cannot be read (its leader down) is named, keeps its history and its last status in the group's, and is judged at once when it can be read again; the charts get no point that would dip")
    func unreadablePartitionKeepsItsHistory() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        // Partition 0 stuck at 10 with lag and a member: STALLED once the window is covered.
        func look(_ second: Double, unreadable: Bool = false) -> LagReport {
            let look = snapshot(at: second, groups: [group("g", members: 1, [("t", 0, 10, 50), ("t", 1, 7 + Int64(second), 7 + Int64(second))])])
            return tracker.record(unreadable ? look.leavingOut(partition: 0) : look)
        }
        var report = look(0)
        for second in stride(from: 5.0, through: 40, by: 5) { report = look(second) }
        #expect(report.groups.first?.status == .stalled)
        #expect(report.unreadable.isEmpty)
        let chartPoints = report.groups.first?.history.count
        let topicPoints = report.topics.first?.history.count

        for second in [45.0, 50] { report = look(second, unreadable: true) }
        #expect(report.unreadable == [LagReport.Unreadable(topic: "t", partition: 0, error: "Broker: Leader not available (LEADER_NOT_AVAILABLE)")])
        let during = try #require(report.groups.first)
        #expect(during.partitions.map(\.partition) == [1])
        #expect(during.status == .stalled, "the unread partition's last status still counts")
        #expect(during.history.count == chartPoints, "no point for a total missing a partition")
        #expect(report.topics.first?.history.count == topicPoints)
        #expect(report.topics.first?.messagesPerSecond == nil)
        #expect(report.blindSpotLines == [
            "UNREADABLE: 1 partition left out of this look, their end offset could not be read:",
            "  t[0]: Broker: Leader not available (LEADER_NOT_AVAILABLE)",
        ])

        report = look(55)
        #expect(report.unreadable.isEmpty && report.blindSpotLines.isEmpty)
        let after = try #require(report.groups.first)
        #expect(after.partitions.first { $0.partition == 0 }?.status == .stalled)
        #expect(after.partitions.first { $0.partition == 0 }?.judged == true)
    }

    @Test("a group with no members whose lagging partition cannot be read stays, STOPPED, past the window: its page does not clear while its service is down")
    func stoppedGroupWithAnUnreadablePartitionStays() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        // Partition 0 stuck at 10 with lag, partition 1 caught up, no member: STOPPED.
        func look(_ second: Double, unreadable: Bool = false) -> LagReport {
            let look = snapshot(at: second, groups: [group("g", members: 0, [("t", 0, 10, 50), ("t", 1, 7, 7)])])
            return tracker.record(unreadable ? look.leavingOut(partition: 0) : look)
        }
        var report = look(0)
        for second in stride(from: 5.0, through: 40, by: 5) { report = look(second) }
        #expect(report.groups.first?.status == .stopped)
        // Four windows with partition 0 unread: the rest of the group is idle, but it has lag.
        for second in stride(from: 45.0, through: 160, by: 5) { report = look(second, unreadable: true) }
        #expect(report.groups.map(\.group) == ["g"], "not expired")
        #expect(report.groups.first?.status == .stopped)
    }

    @Test("a group that cannot be read (its coordinator down) is named and shown as at its last look, status included, and keeps its history: judged at once when it can be read again")
    func unreadableGroupShownAsLastSeen() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        func look(_ second: Double, unreadable: Bool = false) -> LagReport {
            var look = snapshot(at: second, groups: [group("g", members: 1, [("t", 0, 10, 50)]), group("h", members: 1, [("u", 0, Int64(second), Int64(second))])])
            if unreadable {
                look.groups.removeAll { $0.groupID == "g" }
                look.unreadableGroups = ["g": "Broker: Coordinator not available (COORDINATOR_NOT_AVAILABLE)"]
            }
            return tracker.record(look)
        }
        var report = look(0)
        for second in stride(from: 5.0, through: 40, by: 5) { report = look(second) }
        let before = try #require(report.groups.first { $0.group == "g" })
        #expect(before.status == .stalled)

        for second in [45.0, 50] { report = look(second, unreadable: true) }
        #expect(report.unreadableGroups == [LagReport.UnreadableGroup(group: "g", error: "Broker: Coordinator not available (COORDINATOR_NOT_AVAILABLE)")])
        #expect(report.groups.map(\.group) == ["g", "h"])
        #expect(report.groups.first { $0.group == "g" } == before, "shown as at its last look")
        #expect(report.blindSpotLines.last == "  g: Broker: Coordinator not available (COORDINATOR_NOT_AVAILABLE)")

        report = look(55)
        #expect(report.unreadableGroups.isEmpty)
        let after = try #require(report.groups.first { $0.group == "g" })
        #expect(after.status == .stalled && after.judged, "judged on the history it kept")
    }

    @Test("the CLI's own groups (dlq redrive marks, throwaway readers) are left out of a full snapshot; services' groups are not")
    func toolingGroups() {
        #expect(LagReader.isToolingGroup("hookline-dlq-redrive-orders"))
        #expect(LagReader.isToolingGroup("hookline-cli-read-1a2b3c4d"))
        #expect(!LagReader.isToolingGroup("hookline-orders"))
        #expect(!LagReader.isToolingGroup("hookline-dlq"))
        #expect(!LagReader.isToolingGroup("my-hookline-dlq-redrive-x"))
    }

    @Test("statusCode follows status and is still in the JSON; the isolation level is the reader's")
    func statusCodeInJSON() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        var report: LagReport!
        for second in stride(from: 0.0, through: 40, by: 10) {
            report = tracker.record(snapshot(at: second, groups: [group("g", members: 0, [("t", 0, 10, 20)])]))
        }
        #expect(report.isolationLevel == "read_committed")
        var g = try #require(report.groups.first)
        #expect(g.status == .stopped && g.statusCode == 3)
        g.status = .warn
        #expect(g.statusCode == 1)

        let data = try LagReport.encoder().encode(report)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let group = try #require((json["groups"] as? [[String: Any]])?.first)
        #expect(group["status_code"] as? Int == 3)
        #expect(group["status"] as? String == "STOPPED")
        #expect(Set(group.keys) == ["group", "state", "members", "status", "status_code", "judged", "lag", "lag_seconds", "partitions", "history"])
        #expect(try LagReport.decoder().decode(LagReport.self, from: data) == report)
    }

    @Test("the encoder leaves / unescaped, so the monitor's gateway URLs read as written")
    func slashesUnescaped() throws {
        let data = try LagReport.encoder().encode(["url": "http://127.0.0.1:8101/metrics"])
        #expect(String(decoding: data, as: UTF8.self) == #"{"url":"http://127.0.0.1:8101/metrics"}"#)
    }
}
