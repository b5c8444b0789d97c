import Foundation
import HooklineLag

/// `GET /api/status`: everything the page shows.
public struct MonitorStatus: Sendable, Hashable, Codable {
    /// A snapshot has succeeded at least once.
    public var ready: Bool
    /// Why the last snapshot failed, if it did (the report is then the last good one).
    public var error: String?
    public var intervalSeconds: Double
    /// When the last snapshot succeeded; nil before the first.
    public var lastSuccessAt: Date?
    public var lag: LagReport?
    public var gateways: [GatewayTraffic]
    /// How far back the charts in `lag` go.
    public var chartSeconds: Double = LagTracker.defaultChartSpan
    /// When this answer was made, by the monitor's clock: the page tells the age of the last
    /// success from it, not from the browser's clock.
    public var servedAt: Date?
}
