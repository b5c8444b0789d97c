import Foundation

/// What the monitor serves at `/api/status` and `hookline lag --json` prints: every group and
/// topic, judged. Made by ``LagTracker``.
package struct LagReport: Sendable, Hashable, Codable {
    package var takenAt: Date
    package var windowSeconds: Double
    /// ``LagReader/isolationLevel`` (`read_committed`).
    package var isolationLevel: String
    package var groups: [Group]
    package var topics: [Topic]
    /// Partitions whose end offset could not be read at this look (a leader down): left out of
    /// `groups` and `topics` until they can be, their history kept.
    package var unreadable: [Unreadable] = []
    /// Groups that could not be read at this look (their coordinator unavailable): each is shown
    /// as it was at its last look, in `groups`, until it can be read again.
    package var unreadableGroups: [UnreadableGroup] = []
    /// Configured services' groups that the cluster neither lists nor knows a member of: the
    /// service is not running, has not joined yet (it joins once one of its topics exists), or has never committed. Not in `groups`: there is nothing to judge.
    package var absentGroups: [String] = []

    /// Why a configured group can be absent, as the CLI, the monitor's page and its metric say it.
    package static let absentReason = "the service is not running, has not joined yet: it joins once one of its topics exists, or has never committed"

    package struct UnreadableGroup: Sendable, Hashable, Codable {
        package var group: String
        /// librdkafka's words and code.
        package var error: String

        package init(group: String, error: String) {
            self.group = group
            self.error = error
        }
    }

    package struct Unreadable: Sendable, Hashable, Codable {
        package var topic: String
        package var partition: Int32
        /// librdkafka's words and code.
        package var error: String

        package init(topic: String, partition: Int32, error: String) {
            self.topic = topic
            self.partition = partition
            self.error = error
        }
    }

    package struct Group: Sendable, Hashable, Codable {
        package var group: String
        package var state: String
        package var members: Int
        package var status: LagStatus
        /// The sum over partitions with a commit; nil when the group has no commit at all.
        package var lag: Int64?
        /// The largest partition time lag.
        package var lagSeconds: Double?
        package var partitions: [Partition]
        /// Total lag over the last minutes, for charts.
        package var history: [Point]

        /// The status as `hookline_consumergroup_status` encodes it (also in the JSON).
        package var statusCode: Int { self.status.rawValue }

        /// Whether every partition's status is a verdict (also in the JSON); see ``Partition/judged``.
        package var judged: Bool { self.partitions.allSatisfy(\.judged) }

        private enum CodingKeys: String, CodingKey {
            case group, state, members, status, statusCode, judged, lag, lagSeconds, partitions, history
        }

        package init(
            group: String, state: String, members: Int, status: LagStatus, lag: Int64?, lagSeconds: Double?,
            partitions: [Partition], history: [Point]
        ) {
            self.group = group
            self.state = state
            self.members = members
            self.status = status
            self.lag = lag
            self.lagSeconds = lagSeconds
            self.partitions = partitions
            self.history = history
        }

        /// `statusCode` and `judged` in the JSON are ignored: they follow from the rest.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                group: try container.decode(String.self, forKey: .group),
                state: try container.decode(String.self, forKey: .state),
                members: try container.decode(Int.self, forKey: .members),
                status: try container.decode(LagStatus.self, forKey: .status),
                lag: try container.decodeIfPresent(Int64.self, forKey: .lag),
                lagSeconds: try container.decodeIfPresent(Double.self, forKey: .lagSeconds),
                partitions: try container.decode([Partition].self, forKey: .partitions),
                history: try container.decode([Point].self, forKey: .history)
            )
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.group, forKey: .group)
            try container.encode(self.state, forKey: .state)
            try container.encode(self.members, forKey: .members)
            try container.encode(self.status, forKey: .status)
            try container.encode(self.statusCode, forKey: .statusCode)
            try container.encode(self.judged, forKey: .judged)
            try container.encodeIfPresent(self.lag, forKey: .lag)
            try container.encodeIfPresent(self.lagSeconds, forKey: .lagSeconds)
            try container.encode(self.partitions, forKey: .partitions)
            try container.encode(self.history, forKey: .history)
        }
    }

    package struct Partition: Sendable, Hashable, Codable {
        package var topic: String
        package var partition: Int32
        /// Nil: "no commit".
        package var committed: Int64?
        package var end: Int64
        /// End minus committed, floored at zero; nil without a commit.
        package var lag: Int64?
        package var lagSeconds: Double?
        /// The time lag is a lower bound: the first unconsumed record is older than the history.
        package var lagSecondsIsLowerBound: Bool
        package var status: LagStatus
        /// False while `status` is OK for want of history: the partition has lag and fewer than
        /// the window's seconds of looks (``StatusEvaluator/isJudged(_:of:now:)``).
        package var judged: Bool
    }

    package struct Topic: Sendable, Hashable, Codable {
        package var topic: String
        package var partitions: [TopicPartitionEnd]
        /// Records per second over the last two samples; nil after only one.
        package var messagesPerSecond: Double?
        /// The sum of end offsets over the last minutes, for charts.
        package var history: [Point]
    }

    package struct TopicPartitionEnd: Sendable, Hashable, Codable {
        package var partition: Int32
        package var end: Int64
        package var messagesPerSecond: Double?
    }

    package struct Point: Sendable, Hashable, Codable {
        /// Unix seconds.
        package var t: Double
        package var v: Int64
    }

    /// What `hookline lag` says before its table of what this look could not see: ``unreadable``,
    /// ``unreadableGroups`` and ``absentGroups``. Nothing when everything was read and every
    /// configured group is there.
    package var blindSpotLines: [String] {
        var lines: [String] = []
        if !self.unreadable.isEmpty {
            let count = self.unreadable.count
            lines.append("UNREADABLE: \(count) partition\(count == 1 ? "" : "s") left out of this look, their end offset could not be read:")
            lines += self.unreadable.map { "  \($0.topic)[\($0.partition)]: \($0.error)" }
        }
        if !self.unreadableGroups.isEmpty {
            let count = self.unreadableGroups.count
            lines.append("UNREADABLE: \(count) group\(count == 1 ? "" : "s") could not be read at this look, shown as at the last one:")
            lines += self.unreadableGroups.map { "  \($0.group): \($0.error)" }
        }
        if !self.absentGroups.isEmpty {
            let count = self.absentGroups.count
            lines.append(
                "ABSENT: \(count) configured group\(count == 1 ? " has" : "s have") no member and no commit (\(Self.absentReason)): \(self.absentGroups.joined(separator: ", "))"
            )
        }
        return lines
    }

    /// The report with only the chart points after `since` (Unix seconds): what a reader that
    /// keeps the charts it was sent before needs, a point per series and look instead of every
    /// point of the last minutes.
    package func chartPoints(after since: Double) -> LagReport {
        var report = self
        for index in report.groups.indices { report.groups[index].history.removeAll { $0.t <= since } }
        for index in report.topics.indices { report.topics[index].history.removeAll { $0.t <= since } }
        return report
    }

    /// The encoder for this report: dates as Unix seconds, keys sorted, `/` not escaped (URLs stay readable).
    package static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        // snake_case, as the configuration file and the services' APIs spell their keys.
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
