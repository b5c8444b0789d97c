import Foundation
import HooklineLag

/// `GET /api/status`: everything the page shows.
package struct MonitorStatus: Sendable, Hashable, Codable {
    /// A snapshot has succeeded at least once.
    package var ready: Bool
    /// Why the last snapshot failed, if it did (the report is then the last good one).
    package var error: String?
    package var intervalSeconds: Double
    /// When the last snapshot succeeded; nil before the first.
    package var lastSuccessAt: Date?
    package var lag: LagReport?
    package var gateways: [GatewayTraffic]
    /// How far back the charts in `lag` go.
    package var chartSeconds: Double = LagTracker.defaultChartSpan
    /// When the monitor started: what a first snapshot is waited for since.
    package var startedAt: Date?
    /// When this answer was made, by the monitor's clock: the page tells the age of the last
    /// success from it, not from the browser's clock.
    package var servedAt: Date?
}
