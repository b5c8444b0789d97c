/// How a consumer group (or one of its partitions) is doing, after Burrow's evaluation rules.
///
/// The raw value is the `hookline_consumergroup_status` gauge. A group's status is its worst
/// partition's, worst meaning STOPPED, then STALLED, then REWIND, then WARN, then OK: a partition
/// rewound on purpose (a replay) must not hide a stuck one, which pages.
package enum LagStatus: Int, Sendable, Hashable, Comparable, CaseIterable, Codable {
    /// Keeping up, or nothing to judge yet.
    case ok = 0
    /// Lag grew across the whole window: consuming, but slower than records arrive.
    case warn = 1
    /// Committed offsets did not move for the whole window while there was lag, and the group
    /// still has members: a consumer is alive but stuck.
    case stalled = 2
    /// Committed offsets did not move for the whole window while there was lag, and the group
    /// has no members: nothing is consuming.
    case stopped = 3
    /// A committed offset went back within the window (a reset or a replay).
    case rewind = 4

    package var name: String {
        switch self {
        case .ok: "OK"
        case .warn: "WARN"
        case .stalled: "STALLED"
        case .stopped: "STOPPED"
        case .rewind: "REWIND"
        }
    }

    /// Ordered by how bad it is, not by the gauge's code.
    package static func < (lhs: LagStatus, rhs: LagStatus) -> Bool {
        lhs.severity < rhs.severity
    }

    private var severity: Int {
        switch self {
        case .ok: 0
        case .warn: 1
        case .rewind: 2
        case .stalled: 3
        case .stopped: 4
        }
    }

    package init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let status = Self.allCases.first(where: { $0.name == name }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown status \(name)"))
        }
        self = status
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.name)
    }
}
