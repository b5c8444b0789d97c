import ArgumentParser
import Foundation
import HooklineConfig
import HooklineGateway
import Logging

@main
struct HooklineGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline-gateway",
        abstract: "Verify webhooks and publish them to Kafka, acknowledging only what the broker stored."
    )

    @Option(name: .long, help: "Configuration file (default: $HOOKLINE_CONFIG, else deploy/hookline.yaml if present).")
    var config: String?

    @Option(name: .long, help: "HOST:PORT to listen on, overriding gateway.listen.")
    var listen: String?

    @Option(name: .long, help: "Log level (none logs a payload, a signature or a secret).")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log lines as text or json (default: $HOOKLINE_LOG_FORMAT, else text).")
    var logFormat: LogFormat?

    @Flag(name: .long, help: "Check the configuration (addresses, sources, secrets, Kafka properties) without starting; exit 0 when it would start, 78 when not.")
    var check = false

    func run() async throws {
        do {
            try LogFormat.bootstrap(self.logFormat)
        } catch {
            throw ValidationError(error.message)
        }
        var logger = Logger(label: "hookline.gateway")
        logger.logLevel = self.logLevel
        do {
            let configuration = try HooklineConfiguration.load(commandLinePath: self.config)
            if self.check {
                let lines = try GatewayApplication.check(configuration: configuration, listen: self.listen)
                ConfigurationCheck.printPassed(lines)
                return
            }
            let path = self.config
            try await GatewayApplication.run(
                configuration: configuration,
                listen: self.listen,
                reloadingWith: { () throws(ConfigurationError) in try HooklineConfiguration.load(commandLinePath: path) },
                logger: logger
            )
        } catch let error as ConfigurationError where self.check {
            ConfigurationCheck.printInvalid(error)
            throw ExitCode(78)
        } catch let error as ConfigurationError {
            logger.critical("cannot start: \(error.message)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
