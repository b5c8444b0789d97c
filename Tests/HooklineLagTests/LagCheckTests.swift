import Foundation
import HooklineKafka
import HooklineLag
import Testing

@Suite("hookline lag's check: thresholds, and what one look cannot vouch for")
struct LagCheckTests {
    /// One look at groups made of rows (topic, partition, committed, end).
    private func look(_ groups: [GroupOffsets], absent: [String] = []) -> LagReport {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 120))
        var snapshot = snapshot(at: 0, groups: groups)
        snapshot.absentGroups = absent
        return tracker.record(snapshot)
    }

    @Test("a group's lag summed over its partitions is held to --max-lag: at it passes, one over fails naming the group")
    func lagThreshold() {
        let report = self.look([group("orders", members: 1, [("t", 0, 10, 15), ("t", 1, 3, 8), ("t", 2, 4, 4)]), group("ci", members: 1, [("t", 0, 15, 15)])])
        #expect(LagCheck(maxLag: 10).failures(in: report).isEmpty)
        #expect(LagCheck(maxLag: 9).failures(in: report) == ["orders: lag 10 is over --max-lag 9"])
        #expect(LagCheck(maxLag: 0).failures(in: report) == ["orders: lag 10 is over --max-lag 0"])
        #expect(LagCheck().failures(in: report).isEmpty)
    }

    @Test("the time lag is held to --max-time-lag; a lower bound over it fails as 'at least', one under it cannot vouch")
    func timeLagThreshold() {
        var report = self.look([group("orders", members: 1, [("t", 0, 10, 15), ("t", 1, 8, 8)])])
        // A lagging partition whose time lag nobody could tell.
        #expect(LagCheck(maxLagSeconds: 30).failures(in: report) == ["orders: the time lag of t[0] cannot be told (its first unconsumed record could not be read)"])
        #expect(LagCheck(maxLag: 5).failures(in: report).isEmpty, "without --max-time-lag the time lag is not asked for")

        report.applyRecordTimes([RecordPosition(.init(topic: "t", partition: 0), offset: 10): Int64((at(0).timeIntervalSince1970 - 20.04) * 1000)])
        #expect(LagCheck(maxLagSeconds: 30).failures(in: report).isEmpty)
        #expect(LagCheck(maxLagSeconds: 20).failures(in: report) == ["orders: time lag 20.1 s is over --max-time-lag 20 s"])
        #expect(LagCheck(maxLagSeconds: 0.5).failures(in: report) == ["orders: time lag 20.1 s is over --max-time-lag 0.5 s"])

        report.groups[0].partitions[0].lagSecondsIsLowerBound = true
        #expect(LagCheck(maxLagSeconds: 10).failures(in: report) == ["orders: time lag at least 20.1 s is over --max-time-lag 10 s"])
        #expect(LagCheck(maxLagSeconds: 30).failures(in: report) == ["orders: the time lag of t[0] cannot be told (its first unconsumed record could not be read)"])
    }

    @Test("what the look could not measure fails the check at any threshold: an absent configured group, an unreadable group or partition, a partition with records and no commit, a group with no commit and no partition")
    func blindSpotsFail() {
        var report = self.look(
            [
                group("orders", members: 1, [("t", 0, 5, 5), ("t", 1, nil, 7), ("t", 2, nil, 0)]),
                group("fresh", members: 1, []),
            ],
            absent: ["hookline-ci"]
        )
        report.unreadable = [LagReport.Unreadable(topic: "u", partition: 3, error: "Broker: Leader not available")]
        report.unreadableGroups = [LagReport.UnreadableGroup(group: "payments", error: "Broker: Coordinator not available")]
        let failures = LagCheck(maxLag: .max).failures(in: report)
        #expect(failures.count == 5, "\(failures)")
        #expect(failures.prefix(3) == ["hookline-ci: absent (configured, but no member and no commit)", "payments: could not be read at this look", "u[3]: its end offset could not be read at this look"])
        #expect(Set(failures.dropFirst(3)) == ["fresh: no commit and no partition known, its lag cannot be told", "orders: no commit on t[1] (end 7), its lag cannot be told"])
    }

    @Test("a look that found no group fails the check: a wrong --brokers or an empty cluster vouches for nothing")
    func noGroupFails() {
        let failures = LagCheck(maxLag: 0).failures(in: self.look([]))
        #expect(failures == ["no consumer group in this look: nothing to vouch for (no consumer has committed on this cluster, or it is not the one meant)"])
        #expect(LagCheck(maxLag: 0).failures(in: self.look([group("orders", members: 1, [("t", 0, 5, 5)])])).isEmpty)
    }
}
