import Foundation
import HooklineKafka

/// Keeps the history of successive ``LagSnapshot``s and turns each into a ``LagReport``: lag,
/// time lag, status per partition and group, rates, chart points. Groups that were deleted
/// disappear at once; groups gone idle (no members, no lag, nothing moving) expire after
/// ``StatusEvaluator/expireAfter`` and come back when something moves.
///
/// A value type without I/O: the monitor records a snapshot every interval, `hookline lag`
/// one or a few, and tests feed it synthetic snapshots.
package struct LagTracker: Sendable {
    package var evaluator: StatusEvaluator
    /// How far back the charts go. Default: ``defaultChartSpan``
    package var chartSpan: TimeInterval
    package static let defaultChartSpan: TimeInterval = 600
    /// End-offset samples kept per partition for time lag (runs of an unchanged end offset keep
    /// only their first and last sample). Default: `2000`
    package var maxEndSamples: Int

    private var ends: [TopicPartition: [EndOffsetSample]] = [:]
    private var groups: [String: GroupTrack] = [:]
    private var topicCharts: [String: [LagReport.Point]] = [:]
    private var previous: (at: Date, ends: [TopicPartition: Int64])?

    private struct GroupTrack: Sendable {
        var samples: [TopicPartition: [OffsetSample]] = [:]
        /// Each partition's status at its last look.
        var statuses: [TopicPartition: LagStatus] = [:]
        var lastActivity: Date
        var chart: [LagReport.Point] = []
        /// What the group was reported as at its last look (nil while expired).
        var last: LagReport.Group?
    }

    package init(evaluator: StatusEvaluator = StatusEvaluator(), chartSpan: TimeInterval = LagTracker.defaultChartSpan, maxEndSamples: Int = 2000) {
        self.evaluator = evaluator
        self.chartSpan = chartSpan
        self.maxEndSamples = maxEndSamples
    }

    /// Adds a snapshot to the history and judges it.
    package mutating func record(_ snapshot: LagSnapshot) -> LagReport {
        let now = snapshot.takenAt
        var current: [TopicPartition: Int64] = [:]
        for topic in snapshot.topics {
            for (partition, end) in topic.ends { current[TopicPartition(topic: topic.topic, partition: partition)] = end }
        }
        for group in snapshot.groups {
            for row in group.partitions { current[TopicPartition(topic: row.topic, partition: row.partition)] = row.end }
        }
        // A partition that could not be read this time keeps its history, to be judged on when
        // it can be read again; it is not mistaken for one that is gone.
        var unreadable: [LagReport.Unreadable] = []
        for topic in snapshot.topics {
            for (partition, error) in topic.unreadable {
                unreadable.append(LagReport.Unreadable(topic: topic.topic, partition: partition, error: error))
            }
        }
        let unread = Set(unreadable.map { TopicPartition(topic: $0.topic, partition: $0.partition) })
        for (partition, end) in current { self.appendEnd(end, at: now, to: partition) }
        self.ends = self.ends.filter { current[$0.key] != nil || unread.contains($0.key) }

        var groups = snapshot.groups.compactMap { self.judge($0, unread: unread, at: now) }
        // A group that could not be read this time keeps its history and is shown as it was at
        // its last look: its status gauge (and an alert on it) does not vanish meanwhile.
        for groupID in snapshot.unreadableGroups.keys {
            if let last = self.groups[groupID]?.last { groups.append(last) }
        }
        let live = Set(snapshot.groups.map(\.groupID)).union(snapshot.unreadableGroups.keys)
        self.groups = self.groups.filter { live.contains($0.key) }

        let topics = snapshot.topics.map { self.topicReport($0, at: now) }
        let names = Set(snapshot.topics.map(\.topic))
        self.topicCharts = self.topicCharts.filter { names.contains($0.key) }
        self.previous = (now, current)
        return LagReport(
            takenAt: now,
            windowSeconds: self.evaluator.window,
            isolationLevel: LagReader.isolationLevel.librdkafkaValue,
            groups: groups.sorted { $0.group < $1.group },
            topics: topics.sorted { $0.topic < $1.topic },
            unreadable: unreadable.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) },
            unreadableGroups: snapshot.unreadableGroups.map { LagReport.UnreadableGroup(group: $0.key, error: $0.value) }.sorted { $0.group < $1.group },
            absentGroups: snapshot.absentGroups.sorted()
        )
    }

    /// Records a group's sample and reports it, or nil while it is expired. Partitions in
    /// `unread` keep their samples and last status, which still counts in the group's (an alert
    /// on a stalled partition does not clear because its leader went down); while the group has
    /// one its chart gets no point (its total would dip by a lag nobody measured).
    private mutating func judge(_ group: GroupOffsets, unread: Set<TopicPartition>, at now: Date) -> LagReport.Group? {
        var track = self.groups[group.groupID] ?? GroupTrack(lastActivity: now)
        var active = group.members > 0
        var samples: [TopicPartition: [OffsetSample]] = [:]
        var statuses: [TopicPartition: LagStatus] = [:]
        var partitions: [LagReport.Partition] = []
        for row in group.partitions {
            let key = TopicPartition(topic: row.topic, partition: row.partition)
            var history = track.samples[key] ?? []
            if let last = history.last, last.committed != row.committed { active = true }
            if (row.lag ?? 0) > 0 { active = true }
            history.append(OffsetSample(at: now, committed: row.committed, end: row.end))
            // Keep the window and the last sample before it.
            let windowStart = now.addingTimeInterval(-self.evaluator.window)
            if let first = history.firstIndex(where: { $0.at >= windowStart }), first > 1 { history.removeFirst(first - 1) }
            samples[key] = history
            let timeLag = row.committed.flatMap { TimeLag.estimate(committed: $0, history: self.ends[key] ?? [], now: now) }
            let status = self.evaluator.status(of: history, hasMembers: group.members > 0, now: now)
            statuses[key] = status
            partitions.append(
                LagReport.Partition(
                    topic: row.topic,
                    partition: row.partition,
                    committed: row.committed,
                    end: row.end,
                    lag: row.lag,
                    lagSeconds: timeLag?.seconds,
                    lagSecondsIsLowerBound: timeLag?.isLowerBound ?? false,
                    status: status,
                    judged: self.evaluator.isJudged(status, of: history, now: now)
                )
            )
        }
        let kept = track.samples.filter { unread.contains($0.key) && samples[$0.key] == nil }
        let keptStatuses = track.statuses.filter { kept[$0.key] != nil }
        // Lag last seen on a partition read no more is lag still: the group is not idle, and does
        // not expire while its service is down and a leader is too.
        if kept.values.contains(where: { ($0.last?.lag ?? 0) > 0 }) { active = true }
        track.samples = samples.merging(kept) { current, _ in current }
        track.statuses = statuses.merging(keptStatuses) { current, _ in current }
        if active { track.lastActivity = now }
        let lags = partitions.compactMap(\.lag)
        let total: Int64? = lags.isEmpty ? nil : lags.reduce(0, +)
        if kept.isEmpty {
            track.chart = Self.appending(LagReport.Point(t: now.timeIntervalSince1970, v: total ?? 0), to: track.chart, span: self.chartSpan)
        }
        track.last = nil
        defer { self.groups[group.groupID] = track }
        guard !self.evaluator.isExpired(lastActivity: track.lastActivity, now: now) else { return nil }
        let status = (partitions.map(\.status) + keptStatuses.values).max() ?? .ok
        track.last = LagReport.Group(
            group: group.groupID,
            state: group.state,
            members: group.members,
            status: status,
            lag: total,
            lagSeconds: partitions.compactMap(\.lagSeconds).max(),
            partitions: partitions,
            history: track.chart
        )
        return track.last
    }

    private mutating func topicReport(_ topic: TopicOffsets, at now: Date) -> LagReport.Topic {
        var rows: [LagReport.TopicPartitionEnd] = []
        for (partition, end) in topic.ends.sorted(by: { $0.key < $1.key }) {
            var rate: Double?
            if let previous = self.previous, let before = previous.ends[TopicPartition(topic: topic.topic, partition: partition)],
                end >= before, now > previous.at
            {
                rate = Double(end - before) / now.timeIntervalSince(previous.at)
            }
            rows.append(LagReport.TopicPartitionEnd(partition: partition, end: end, messagesPerSecond: rate))
        }
        // A topic with a partition unread has no total to chart or rate to sum this time.
        let whole = topic.unreadable.isEmpty
        var chart = self.topicCharts[topic.topic] ?? []
        if whole {
            chart = Self.appending(LagReport.Point(t: now.timeIntervalSince1970, v: topic.totalEnd), to: chart, span: self.chartSpan)
            self.topicCharts[topic.topic] = chart
        }
        let rates = rows.compactMap(\.messagesPerSecond)
        return LagReport.Topic(
            topic: topic.topic,
            partitions: rows,
            messagesPerSecond: whole && rates.count == rows.count && !rows.isEmpty ? rates.reduce(0, +) : nil,
            history: chart
        )
    }

    private mutating func appendEnd(_ end: Int64, at now: Date, to partition: TopicPartition) {
        var history = self.ends[partition] ?? []
        if let last = history.last, end < last.end {
            history = []  // the log was recreated: its old history says nothing about it
        }
        let count = history.count
        if count >= 2, history[count - 1].end == end, history[count - 2].end == end {
            history[count - 1].at = now  // a run keeps its first and last sample
        } else {
            history.append(EndOffsetSample(at: now, end: end))
        }
        if history.count > self.maxEndSamples { history.removeFirst(history.count - self.maxEndSamples) }
        self.ends[partition] = history
    }

    private static func appending(_ point: LagReport.Point, to chart: [LagReport.Point], span: TimeInterval) -> [LagReport.Point] {
        (chart + [point]).filter { point.t - $0.t <= span }
    }
}
