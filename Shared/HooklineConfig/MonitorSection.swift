/// `monitor:` — the lag monitor.
package struct MonitorSection: Sendable, Hashable {
    /// `HOST:PORT` of its page and metrics. Default: `127.0.0.1:8099`
    package var listen: String = "127.0.0.1:8099"
    /// Seconds between two looks at the cluster. Default: `5`
    package var intervalSeconds: Int = 5
    /// Seconds of history a group's status is judged over. Default: `120`
    package var windowSeconds: Int = 120
    /// Gateways whose `/metrics` the monitor reads for traffic figures. Default: none
    package var gateways: [String] = []

    package init() {}
}
