import Foundation

/// When a partition's end offset was seen: the history time lag is estimated from.
package struct EndOffsetSample: Sendable, Hashable {
    package var at: Date
    package var end: Int64

    package init(at: Date, end: Int64) {
        self.at = at
        self.end = end
    }
}

/// How far behind a consumer is in time: the age of the first record it has not consumed.
///
/// Estimated from the history of a partition's end offset, without reading any record: the
/// record at the committed offset was written between the last sample whose end offset was not
/// past it and the first sample whose end offset was; its time is interpolated between the two,
/// assuming records arrived evenly. When even the oldest sample is already past the committed
/// offset, the record is older than the history, and the age of the oldest sample is a lower
/// bound (``isLowerBound``). A one-shot look therefore only knows "caught up" or a lower bound;
/// a watch or the monitor, sampling continuously, knows more with every sample. Where the
/// history cannot tell, both read the record's own timestamp (``RecordTimes``).
package struct TimeLag: Sendable, Hashable, Codable {
    package var seconds: Double
    /// The record is older than the history: the consumer is at least ``seconds`` behind.
    package var isLowerBound: Bool

    package init(seconds: Double, isLowerBound: Bool) {
        self.seconds = seconds
        self.isLowerBound = isLowerBound
    }

    /// The estimate for a group committed at `committed`, given the partition's end offset
    /// history (oldest first). Nil without history.
    package static func estimate(committed: Int64, history: [EndOffsetSample], now: Date) -> TimeLag? {
        guard let last = history.last else { return nil }
        if committed >= last.end { return TimeLag(seconds: 0, isLowerBound: false) }
        guard let passed = history.firstIndex(where: { $0.end > committed }) else { return nil }
        let after = history[passed]
        guard passed > 0 else {
            return TimeLag(seconds: max(0, now.timeIntervalSince(after.at)), isLowerBound: true)
        }
        let before = history[passed - 1]
        // The (committed - before.end + 1)-th record written after `before`, taken at the middle
        // of its share of the interval.
        let fraction = (Double(committed - before.end) + 0.5) / Double(after.end - before.end)
        let written = before.at.addingTimeInterval(after.at.timeIntervalSince(before.at) * fraction)
        return TimeLag(seconds: max(0, now.timeIntervalSince(written)), isLowerBound: false)
    }
}
