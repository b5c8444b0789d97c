import HooklineLag
import Synchronization

/// The latest evaluation, shared between the poller that makes it and the HTTP routes that serve it.
final class MonitorState: Sendable {
    private struct Current {
        var status: MonitorStatus
        var metrics: [UInt8] = []
    }

    private let current: Mutex<Current>

    init(interval: Duration) {
        self.current = Mutex(Current(status: MonitorStatus(ready: false, error: nil, intervalSeconds: interval.inSeconds, lag: nil, gateways: [])))
    }

    var status: MonitorStatus { self.current.withLock { $0.status } }
    var metrics: [UInt8] { self.current.withLock { $0.metrics } }
    var isReady: Bool { self.current.withLock { $0.status.ready } }

    /// A successful snapshot: becomes what every route serves.
    func publish(_ report: LagReport, gateways: [GatewayTraffic]) {
        let metrics = MonitorMetrics.render(report, gateways: gateways)
        self.current.withLock { current in
            current.status.ready = true
            current.status.error = nil
            current.status.lag = report
            current.status.gateways = gateways
            current.metrics = metrics
        }
    }

    /// A failed snapshot: the last good report stays, with the reason beside it.
    func fail(_ message: String) {
        self.current.withLock { $0.status.error = message }
    }
}
