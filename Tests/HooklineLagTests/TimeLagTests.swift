import Foundation
import HooklineLag
import Testing

@Suite("Time lag from end-offset history")
struct TimeLagTests {
    @Test("caught up is zero; no history is unknown")
    func edges() {
        #expect(TimeLag.estimate(committed: 10, history: [EndOffsetSample(at: at(0), end: 10)], now: at(5)) == TimeLag(seconds: 0, isLowerBound: false))
        #expect(TimeLag.estimate(committed: 10, history: [], now: at(5)) == nil)
    }

    @Test("the first unconsumed record's time is interpolated between the samples around it")
    func interpolates() throws {
        // Offsets 100…199 arrived evenly between t=10 and t=20; offset 150 at about t=15.
        let history = [EndOffsetSample(at: at(0), end: 100), EndOffsetSample(at: at(10), end: 100), EndOffsetSample(at: at(20), end: 200)]
        let lag = try #require(TimeLag.estimate(committed: 150, history: history, now: at(60)))
        #expect(!lag.isLowerBound)
        #expect(abs(lag.seconds - 44.95) < 0.01)
    }

    @Test("a record older than the history gives a lower bound: the history's age")
    func lowerBound() throws {
        let history = [EndOffsetSample(at: at(10), end: 200), EndOffsetSample(at: at(20), end: 210)]
        let lag = try #require(TimeLag.estimate(committed: 150, history: history, now: at(50)))
        #expect(lag == TimeLag(seconds: 40, isLowerBound: true))
    }

    @Test("the tracker keeps the last sample of an unchanged run, so a long quiet spell is not taken for lag")
    func trackerRuns() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        // End 100 from t=0 to t=50; records 100…109 arrive by t=60; the group stays at 100.
        var report: LagReport!
        for second in stride(from: 0.0, through: 50, by: 10) {
            report = tracker.record(snapshot(at: second, groups: [group("g", members: 1, [("t", 0, 100, 100)])]))
        }
        report = tracker.record(snapshot(at: 60, groups: [group("g", members: 1, [("t", 0, 100, 110)])]))
        let partition = try #require(report.groups.first?.partitions.first)
        #expect(partition.lag == 10)
        #expect(!partition.lagSecondsIsLowerBound)
        // Written between t=50 and t=60: at most 10 s behind, not 60.
        #expect(try #require(partition.lagSeconds) <= 10)
        #expect(try #require(partition.lagSeconds) > 0)
    }
}
