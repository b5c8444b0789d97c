import Foundation
import HooklineKafka
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

    @Test("record timestamps: asked for only where the history cannot tell, and then exact; the group's time lag follows")
    func recordTimes() throws {
        var tracker = LagTracker(evaluator: StatusEvaluator(window: 30))
        // p0 caught up; p1 lags with its first unconsumed record older than the history (a lower
        // bound); p2 lags with the record written inside the history (estimated); p3 never committed.
        _ = tracker.record(snapshot(at: 0, groups: [group("g", members: 1, [("t", 0, 5, 5), ("t", 1, 10, 20), ("t", 2, 30, 30), ("t", 3, nil, 7)])]))
        var report = tracker.record(snapshot(at: 10, groups: [group("g", members: 1, [("t", 0, 5, 5), ("t", 1, 10, 20), ("t", 2, 30, 40), ("t", 3, nil, 7)])]))
        let p1 = TopicPartition(topic: "t", partition: 1)
        #expect(report.recordsToTime == [RecordPosition(p1, offset: 10)])

        // Record 10 of p1 was written 95 s before the look; a timestamp for a record nobody waits at changes nothing.
        let before = report
        report.applyRecordTimes([RecordPosition(TopicPartition(topic: "t", partition: 0), offset: 4): 0])
        #expect(report == before)
        report.applyRecordTimes([RecordPosition(p1, offset: 10): Int64((at(10).timeIntervalSince1970 - 95) * 1000)])
        let partitions = try #require(report.groups.first).partitions
        #expect(partitions[1].lagSeconds == 95 && !partitions[1].lagSecondsIsLowerBound)
        #expect(partitions[0] == before.groups[0].partitions[0] && partitions[2] == before.groups[0].partitions[2])
        #expect(report.groups[0].lagSeconds == 95)
        #expect(report.recordsToTime.isEmpty)
    }
}
