/// `monitor:` — the lag monitor.
public struct MonitorSection: Sendable, Hashable {
    /// `HOST:PORT` of its page and metrics. Default: `127.0.0.1:8099`
    public var listen: String = "127.0.0.1:8099"
    /// Seconds between two looks at the cluster. Default: `5`
    public var intervalSeconds: Int = 5
    /// Seconds of history a group's status is judged over. Default: `120`
    public var windowSeconds: Int = 120
    /// Gateways whose `/metrics` the monitor reads for traffic figures. Default: none
    public var gateways: [String] = []

    public init() {}
}
