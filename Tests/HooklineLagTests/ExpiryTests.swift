import Foundation
import HooklineLag
import Testing

@Suite("Idle and deleted groups expire")
struct ExpiryTests {
    @Test("an idle group (no members, no lag, nothing moving) disappears after expireAfter and comes back when it moves")
    func idleExpires() {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30, expireAfter: 30))
        let idle = group("idle", members: 0, [("t", 0, 50, 50)])
        #expect(tracker.record(snapshot(at: 0, groups: [idle])).groups.map(\.group) == ["idle"])
        #expect(tracker.record(snapshot(at: 25, groups: [idle])).groups.map(\.group) == ["idle"])
        #expect(tracker.record(snapshot(at: 31, groups: [idle])).groups.isEmpty)
        #expect(tracker.record(snapshot(at: 300, groups: [idle])).groups.isEmpty)
        let moved = group("idle", members: 0, [("t", 0, 60, 60)])
        #expect(tracker.record(snapshot(at: 301, groups: [moved])).groups.map(\.group) == ["idle"])
    }

    @Test("a stopped group with lag keeps alerting; a group with members never expires")
    func lagOrMembersKeepAGroup() {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        var report: LagReport!
        for second in stride(from: 0.0, through: 600, by: 30) {
            report = tracker.record(snapshot(at: second, groups: [
                group("stopped", members: 0, [("t", 0, 10, 50)]),
                group("member", members: 1, [("t", 0, 50, 50)]),
            ]))
        }
        #expect(report.groups.map(\.group) == ["member", "stopped"])
        #expect(report.groups.map(\.status) == [.ok, .stopped])
    }

    @Test("a deleted group disappears at once")
    func deletedGroup() {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        _ = tracker.record(snapshot(at: 0, groups: [group("gone", members: 0, [("t", 0, 10, 50)])]))
        #expect(tracker.record(snapshot(at: 5, groups: [])).groups.isEmpty)
    }
}
