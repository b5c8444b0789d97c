import Foundation
import HooklineConfig

/// What `hookline-monitor` needs: the `monitor:` section with command-line overrides.
package struct MonitorConfiguration: Sendable {
    /// `HOST:PORT` of the page, API and metrics. Default: `127.0.0.1:8099`
    package var listen: String
    /// Time between two snapshots of the cluster. Default: 5 seconds
    package var interval: Duration
    /// The window statuses are judged over; idle groups also expire after it. Default: 120 seconds
    package var window: Duration
    /// Base URLs (or `/metrics` URLs) of gateways whose traffic the monitor reports. Default: none
    package var gateways: [String]
    /// How long one gateway may take to answer its `/metrics`. Default: 2 seconds
    package var gatewayTimeout: Duration
    /// Consumer groups watched even when the cluster does not list them (some brokers list only
    /// groups that have committed); shown while they have members. Default: none
    package var knownGroups: [String]

    package init(
        listen: String = "127.0.0.1:8099",
        interval: Duration = .seconds(5),
        window: Duration = .seconds(120),
        gateways: [String] = [],
        gatewayTimeout: Duration = .seconds(2),
        knownGroups: [String] = []
    ) {
        self.listen = listen
        self.interval = interval
        self.window = window
        self.gateways = gateways
        self.gatewayTimeout = gatewayTimeout
        self.knownGroups = knownGroups
    }

    /// The file's `monitor:` section; the known groups are those of its `services:`.
    package init(_ configuration: HooklineConfiguration) {
        let section = configuration.monitor
        self.init(
            listen: section.listen,
            interval: .seconds(section.intervalSeconds),
            window: .seconds(section.windowSeconds),
            gateways: section.gateways,
            knownGroups: configuration.serviceGroups
        )
    }
}
