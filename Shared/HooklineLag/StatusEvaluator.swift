import Foundation

/// A group's position on one partition at one moment: what ``StatusEvaluator`` judges.
package struct OffsetSample: Sendable, Hashable {
    package var at: Date
    /// Nil while the group has no commit for the partition.
    package var committed: Int64?
    package var end: Int64

    package init(at: Date, committed: Int64?, end: Int64) {
        self.at = at
        self.committed = committed
        self.end = end
    }

    /// End minus committed, floored at zero; nil without a commit.
    package var lag: Int64? { self.committed.map { max(0, self.end - $0) } }
}

/// Judges a partition over a sliding window, after Burrow's consumer evaluation rules
/// (github.com/linkedin/Burrow, "Consumer Lag Evaluation Rules"), adapted to what the admin API
/// shows: Kafka does not say when a group last committed, only what, so "not committing"
/// (STOPPED) and "committing the same offset" (STALLED) are told apart by whether the group
/// still has members.
///
/// In order, for the samples within the window (and the last one before it):
/// 1. no commit yet: OK (nothing to judge; shown as "no commit");
/// 2. a committed offset went back: REWIND;
/// 3. no lag now: OK;
/// 4. the history covers the whole window, the committed offset never moved in it and the lag
///    was never zero: STOPPED without members, STALLED with members;
/// 5. lag above zero in every sample, never falling, and higher at the end than at the start: WARN;
/// 6. otherwise OK.
package struct StatusEvaluator: Sendable {
    /// The sliding window. Default: 120 seconds (`monitor.window_seconds`)
    package var window: TimeInterval
    /// How long a group with no members, no lag and no movement is kept before it expires
    /// (disappears from the report and the metrics). Default: the window
    package var expireAfter: TimeInterval

    package init(window: TimeInterval = 120, expireAfter: TimeInterval? = nil) {
        self.window = window
        self.expireAfter = expireAfter ?? window
    }

    /// One partition's status. `samples` is its history, oldest first; older samples than the
    /// last one before the window are ignored.
    package func status(of samples: [OffsetSample], hasMembers: Bool, now: Date) -> LagStatus {
        let windowStart = now.addingTimeInterval(-self.window)
        let firstInWindow = samples.firstIndex { $0.at >= windowStart } ?? samples.endIndex
        let relevant = samples[max(samples.startIndex, firstInWindow - 1)...].filter { $0.committed != nil }
        guard let last = relevant.last, let lag = last.lag else { return .ok }

        if zip(relevant, relevant.dropFirst()).contains(where: { $1.committed! < $0.committed! }) { return .rewind }
        if lag == 0 { return .ok }

        if Self.covers(relevant, from: windowStart),
            relevant.allSatisfy({ $0.committed == last.committed && ($0.lag ?? 0) > 0 })
        {
            return hasMembers ? .stalled : .stopped
        }

        let inWindow = relevant.filter { $0.at >= windowStart }
        let lags = inWindow.compactMap(\.lag)
        if lags.count >= 2, lags.allSatisfy({ $0 > 0 }), zip(lags, lags.dropFirst()).allSatisfy({ $0 <= $1 }), lags.last! > lags.first! {
            return .warn
        }
        return .ok
    }

    /// Whether `status` is a verdict: false for OK on a partition with lag whose history does not
    /// cover the window yet (a single look, the first minutes of a watch or of the monitor), when
    /// STOPPED or STALLED could not have been told yet.
    package func isJudged(_ status: LagStatus, of samples: [OffsetSample], now: Date) -> Bool {
        guard status == .ok, let last = samples.last, (last.lag ?? 0) > 0 else { return true }
        return Self.covers(samples.filter { $0.committed != nil }, from: now.addingTimeInterval(-self.window))
    }

    /// Whether a history of committed samples, oldest first, reaches back to the window's start.
    private static func covers(_ committed: some Collection<OffsetSample>, from windowStart: Date) -> Bool {
        committed.first.map { $0.at <= windowStart } ?? false
    }

    /// Whether a group has gone quiet long enough to drop: no members, and nothing (members, lag,
    /// a commit) since `lastActivity`.
    package func isExpired(lastActivity: Date, now: Date) -> Bool {
        now.timeIntervalSince(lastActivity) > self.expireAfter
    }
}
