import ArgumentParser
import Foundation
import HooklineConfig
import HooklineMonitor
import Logging

@main
struct HooklineMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline-monitor",
        abstract: "Watch consumer-group lag and gateway traffic: a page, a JSON API and Prometheus metrics."
    )

    @Option(name: .long, help: "Configuration file (default: $HOOKLINE_CONFIG, else deploy/hookline.yaml if present).")
    var config: String?

    @Option(name: .long, help: "HOST:PORT to listen on, overriding monitor.listen.")
    var listen: String?

    @Option(name: .long, help: "Seconds between two looks at the cluster, overriding monitor.interval_seconds.")
    var interval: Double?

    @Option(name: .long, help: "Seconds statuses are judged over, overriding monitor.window_seconds.")
    var window: Double?

    @Option(name: .long, help: "A gateway base URL whose /metrics to read; repeat it; replaces monitor.gateways.")
    var gateway: [String] = []

    @Option(name: .long, help: "Log level.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log lines as text or json (default: $HOOKLINE_LOG_FORMAT, else text).")
    var logFormat: LogFormat?

    @Flag(name: .long, help: "Check the configuration (address, gateway URLs, Kafka properties) without starting; exit 0 when it would start, 78 when not.")
    var check = false

    func validate() throws {
        if let interval = self.interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        if let window = self.window, window <= 0 { throw ValidationError("--window must be positive") }
    }

    func run() async throws {
        do {
            try LogFormat.bootstrap(self.logFormat)
        } catch {
            throw ValidationError(error.message)
        }
        var logger = Logger(label: "hookline.monitor")
        logger.logLevel = self.logLevel
        do {
            let file = try HooklineConfiguration.load(commandLinePath: self.config)
            var configuration = MonitorConfiguration(file)
            if let listen = self.listen { configuration.listen = listen }
            if let interval = self.interval { configuration.interval = .milliseconds(Int64(interval * 1000)) }
            if let window = self.window { configuration.window = .milliseconds(Int64(window * 1000)) }
            if !self.gateway.isEmpty { configuration.gateways = self.gateway }
            if self.check {
                let lines = try MonitorApplication.check(kafka: file.kafka, configuration: configuration)
                ConfigurationCheck.printPassed(lines)
                return
            }
            try await MonitorApplication.run(kafka: file.kafka, configuration: configuration, logger: logger)
        } catch let error as ConfigurationError where self.check {
            ConfigurationCheck.printInvalid(error)
            throw ExitCode(78)
        } catch let error as ConfigurationError {
            logger.critical("cannot start: \(error.message)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
