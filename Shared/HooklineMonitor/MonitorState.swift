import Foundation
import HooklineLag
import Synchronization

/// The latest evaluation, shared between the poller that makes it and the HTTP routes that serve it.
final class MonitorState: Sendable {
    private struct Current {
        var status: MonitorStatus
        /// The report's series, rendered at the last success.
        var reportMetrics: [UInt8] = []
        /// The gateways' series, rendered at the last look.
        var gatewayMetrics: [UInt8] = []
        /// The last successful snapshot; the monitor's start before the first.
        var lastSuccess: Date
        var failures: Int = 0
    }

    private let current: Mutex<Current>
    /// Seconds between two looks at the cluster.
    let interval: TimeInterval
    /// How old the last success may be before `/readyz` answers 503: three intervals.
    var staleAfter: TimeInterval { 3 * self.interval }

    init(interval: Duration, startedAt: Date = Date()) {
        self.interval = interval.inSeconds
        var status = MonitorStatus(ready: false, error: nil, intervalSeconds: self.interval, lastSuccessAt: nil, lag: nil, gateways: [])
        status.startedAt = startedAt
        self.current = Mutex(Current(status: status, lastSuccess: startedAt))
    }

    var status: MonitorStatus { self.current.withLock { $0.status } }

    /// `/metrics`: the last good report's series, the gateways' at the last look, and the
    /// monitor's own, always current.
    var metrics: [UInt8] {
        let (report, gateways, lastSuccess, failures) = self.current.withLock { ($0.reportMetrics, $0.gatewayMetrics, $0.lastSuccess, $0.failures) }
        return report + gateways + MonitorMetrics.renderHealth(lastSuccess: lastSuccess, failures: failures, interval: self.interval)
    }

    /// Nil when ready: a snapshot succeeded within ``staleAfter``; else why not.
    func notReadyReason(now: Date = Date()) -> String? {
        self.current.withLock { current in
            guard current.status.ready else { return "No snapshot of the cluster has succeeded yet." }
            let age = now.timeIntervalSince(current.lastSuccess)
            guard age > self.staleAfter else { return nil }
            return "No snapshot of the cluster has succeeded for \(Int(age)) s (\(current.status.error ?? "no error recorded"))."
        }
    }

    /// A successful snapshot: becomes what every route serves.
    func publish(_ report: LagReport, gateways: [GatewayTraffic], at now: Date = Date()) {
        let metrics = MonitorMetrics.render(report)
        let gatewayMetrics = MonitorMetrics.render(gateways: gateways)
        self.current.withLock { current in
            current.status.ready = true
            current.status.error = nil
            current.status.lastSuccessAt = now
            current.status.lag = report
            current.status.gateways = gateways
            current.reportMetrics = metrics
            current.gatewayMetrics = gatewayMetrics
            current.lastSuccess = now
        }
    }

    /// A failed snapshot: the last good report stays, with the reason beside it; the failure is
    /// counted and the last success ages (see ``notReadyReason(now:)``). The gateways, looked at
    /// apart from the cluster, are current: a Kafka outage is when their 5xx matter most.
    func fail(_ message: String, gateways: [GatewayTraffic]) {
        let gatewayMetrics = MonitorMetrics.render(gateways: gateways)
        self.current.withLock { current in
            current.status.error = message
            current.status.gateways = gateways
            current.gatewayMetrics = gatewayMetrics
            current.failures += 1
        }
    }
}
