/// Thresholds one look at the lag is held to: what `hookline lag --max-lag N --max-time-lag S`
/// checks, for a script that must know whether consumers have caught up (before a migration, at
/// the end of a load test) without a Prometheus to ask.
///
/// A check passes only on evidence: a group over a threshold fails it, and so does anything the
/// look could not measure, since "caught up" cannot be vouched for there. That is a configured
/// group that is absent, a partition or group the look could not read, a lagging partition
/// without a commit, and (with `maxLagSeconds`) a lagging partition whose time lag is unknown or
/// only a lower bound below the threshold; and a look that found no group at all (a cluster with
/// no consumers yet, or not the cluster meant). Statuses are not checked: one look cannot judge them.
package struct LagCheck: Sendable, Hashable {
    /// A group's lag (summed over its partitions, as `HooklineConsumerLagHigh` sums it) above
    /// this fails the check.
    package var maxLag: Int64?
    /// A group's time lag (its slowest partition's) above this fails the check.
    package var maxLagSeconds: Double?

    package init(maxLag: Int64? = nil, maxLagSeconds: Double? = nil) {
        self.maxLag = maxLag
        self.maxLagSeconds = maxLagSeconds
    }

    /// Why `report` fails the check, one line each, in the report's order; empty when it passes.
    package func failures(in report: LagReport) -> [String] {
        var lines = report.absentGroups.map { "\($0): absent (configured, but no member and no commit)" }
        lines += report.unreadableGroups.map { "\($0.group): could not be read at this look" }
        lines += report.unreadable.map { "\($0.topic)[\($0.partition)]: its end offset could not be read at this look" }
        for group in report.groups {
            lines += self.failures(of: group).map { "\(group.group): \($0)" }
        }
        if lines.isEmpty, report.groups.isEmpty {
            lines.append("no consumer group in this look: nothing to vouch for (no consumer has committed on this cluster, or it is not the one meant)")
        }
        return lines
    }

    private func failures(of group: LagReport.Group) -> [String] {
        var lines: [String] = []
        if group.partitions.isEmpty, group.lag == nil {
            // The broker named no partition for it (Tansu reports no assignments): nothing measured.
            return ["no commit and no partition known, its lag cannot be told"]
        }
        let uncommitted = group.partitions.filter { $0.committed == nil && $0.end > 0 }
        if !uncommitted.isEmpty {
            let named = uncommitted.map { "\($0.topic)[\($0.partition)] (end \($0.end))" }.joined(separator: ", ")
            lines.append("no commit on \(named), its lag cannot be told")
        }
        if let maxLag = self.maxLag, let lag = group.lag, lag > maxLag {
            lines.append("lag \(lag) is over --max-lag \(maxLag)")
        }
        guard let maxSeconds = self.maxLagSeconds else { return lines }
        if let seconds = group.lagSeconds, seconds > maxSeconds {
            let bound = group.partitions.contains { $0.lagSeconds == seconds && $0.lagSecondsIsLowerBound } ? "at least " : ""
            lines.append("time lag \(bound)\(Self.seconds(seconds)) is over --max-time-lag \(Self.threshold(maxSeconds))")
            return lines
        }
        let untold = group.partitions.filter { ($0.lag ?? 0) > 0 && ($0.lagSeconds == nil || $0.lagSecondsIsLowerBound) }
        if !untold.isEmpty {
            let named = untold.map { "\($0.topic)[\($0.partition)]" }.joined(separator: ", ")
            lines.append("the time lag of \(named) cannot be told (its first unconsumed record could not be read)")
        }
        return lines
    }

    /// Seconds to the tenth, rounded up: a time lag just over a whole threshold never reads as
    /// equal to it (`20.1 s is over 20 s`, not `20 s is over 20 s`).
    private static func seconds(_ value: Double) -> String {
        let tenths = (value * 10).rounded(.up) / 10
        return Self.threshold(tenths)
    }

    /// Seconds as given: `30 s`, `0.25 s`.
    private static func threshold(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)) s" : "\(value) s"
    }
}
