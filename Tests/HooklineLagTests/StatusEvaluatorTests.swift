import Foundation
import HooklineLag
import Testing

@Suite("Status evaluation over a sliding window")
struct StatusEvaluatorTests {
    let evaluator = StatusEvaluator(window: 60)

    @Test("caught up, or catching up, is OK")
    func ok() {
        let caughtUp = history([(0, 100, 150), (30, 130, 160), (60, 160, 160), (70, 170, 170)])
        #expect(self.evaluator.status(of: caughtUp, hasMembers: true, now: at(70)) == .ok)
        let shrinking = history([(0, 100, 200), (30, 150, 210), (60, 200, 215), (70, 210, 218)])
        #expect(self.evaluator.status(of: shrinking, hasMembers: true, now: at(70)) == .ok)
    }

    @Test("a partition the group never committed is OK: nothing to judge")
    func noCommit() {
        let samples = history([(0, nil, 10), (30, nil, 20), (70, nil, 30)])
        #expect(self.evaluator.status(of: samples, hasMembers: false, now: at(70)) == .ok)
    }

    @Test("lag that grows across the window while the consumer moves is WARN")
    func warn() {
        let samples = history([(0, 100, 110), (20, 105, 120), (40, 110, 135), (60, 115, 150)])
        #expect(self.evaluator.status(of: samples, hasMembers: true, now: at(60)) == .warn)
    }

    @Test("lag that dips within the window is not WARN")
    func dipIsNotWarn() {
        let samples = history([(0, 100, 110), (20, 118, 120), (40, 110 + 20, 135), (60, 135, 150)])
        #expect(self.evaluator.status(of: samples, hasMembers: true, now: at(60)) == .ok)
    }

    @Test("offsets that do not move for the whole window with lag and members are STALLED")
    func stalled() {
        let samples = history([(0, 100, 150), (20, 100, 150), (40, 100, 150), (61, 100, 150)])
        #expect(self.evaluator.status(of: samples, hasMembers: true, now: at(61)) == .stalled)
    }

    @Test("offsets that do not move for the whole window with lag and no members are STOPPED")
    func stopped() {
        let samples = history([(0, 100, 150), (20, 100, 160), (40, 100, 170), (61, 100, 180)])
        #expect(self.evaluator.status(of: samples, hasMembers: false, now: at(61)) == .stopped)
    }

    @Test("less history than the window is never STALLED or STOPPED")
    func shortHistory() {
        let flat = history([(0, 100, 150), (20, 100, 150), (40, 100, 150)])
        #expect(self.evaluator.status(of: flat, hasMembers: false, now: at(40)) == .ok)
        let growing = history([(0, 100, 150), (20, 100, 160), (40, 100, 170)])
        #expect(self.evaluator.status(of: growing, hasMembers: false, now: at(40)) == .warn)
    }

    @Test("zero lag inside the window keeps a still offset from counting as STOPPED")
    func zeroLagResetsStillness() {
        let samples = history([(0, 100, 100), (30, 100, 100), (40, 100, 120), (61, 100, 130)])
        // Lag that was zero in the window is neither STOPPED nor WARN (not above zero throughout).
        #expect(self.evaluator.status(of: samples, hasMembers: false, now: at(61)) == .ok)
        #expect(self.evaluator.status(of: samples + history([(101, 100, 130)]), hasMembers: false, now: at(101)) == .stopped)
    }

    @Test("a committed offset going back is REWIND, until it leaves the window")
    func rewind() {
        let samples = history([(0, 100, 150), (20, 140, 150), (40, 90, 150), (60, 150, 150)])
        #expect(self.evaluator.status(of: samples, hasMembers: true, now: at(60)) == .rewind)
        let later = samples + history([(110, 150, 150), (130, 150, 150)])
        #expect(self.evaluator.status(of: later, hasMembers: true, now: at(130)) == .ok)
    }

    @Test("a group's status is its worst partition's")
    func groupIsWorstPartition() throws {
        var tracker = LagTracker(evaluator: self.evaluator)
        var report: LagReport!
        for second in stride(from: 0.0, through: 70, by: 10) {
            report = tracker.record(snapshot(at: second, groups: [
                group("g", members: 1, [("t", 0, 100 + Int64(second), 200 + Int64(second)), ("t", 1, 100, 150)]),
            ]))
        }
        let g = try #require(report.groups.first)
        #expect(g.partitions.map(\.status) == [.ok, .stalled])
        #expect(g.status == .stalled)
        #expect(g.statusCode == 2)
        #expect(g.lag == 150)
    }
}
