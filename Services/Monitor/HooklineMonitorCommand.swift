import ArgumentParser
import HooklineConfig
import HooklineMonitor

@main
struct HooklineMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline-monitor",
        abstract: "Watch consumer-group lag and gateway traffic: a page, a JSON API and Prometheus metrics."
    )

    @OptionGroup var options: ProcessOptions

    @Option(name: .long, help: "HOST:PORT to listen on, overriding monitor.listen.")
    var listen: String?

    @Option(name: .long, help: "Seconds between two looks at the cluster, overriding monitor.interval_seconds.")
    var interval: Double?

    @Option(name: .long, help: "Seconds statuses are judged over, overriding monitor.window_seconds.")
    var window: Double?

    @Option(name: .long, help: "A gateway base URL whose /metrics to read (dns+http://NAME:PORT: every address of NAME); repeat it; replaces monitor.gateways.")
    var gateway: [String] = []

    @Flag(name: .long, help: "Check the configuration (address, gateway URLs, Kafka properties) without starting; exit 0 when it would start, 78 when not.")
    var check = false

    func validate() throws {
        if let interval = self.interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        if let window = self.window, window <= 0 { throw ValidationError("--window must be positive") }
    }

    func run() async throws {
        try await self.options.run(label: "hookline.monitor", check: self.check) { file throws(ConfigurationError) in
            try MonitorApplication.check(kafka: file.kafka, configuration: self.monitorConfiguration(file))
        } starting: { file, logger in
            try await MonitorApplication.run(kafka: file.kafka, configuration: self.monitorConfiguration(file), logger: logger)
        }
    }

    /// The file's `monitor:` section with the flags that override it.
    private func monitorConfiguration(_ file: HooklineConfiguration) -> MonitorConfiguration {
        var configuration = MonitorConfiguration(file)
        if let listen = self.listen { configuration.listen = listen }
        if let interval = self.interval { configuration.interval = .milliseconds(Int64(interval * 1000)) }
        if let window = self.window { configuration.window = .milliseconds(Int64(window * 1000)) }
        if !self.gateway.isEmpty { configuration.gateways = self.gateway }
        return configuration
    }
}
