import ArgumentParser
import Logging

/// What every long-running executable (`hookline-gateway`, `hookline-monitor`, the consumer
/// services) takes and does alike: its configuration file, how it logs, and how it starts or
/// `--check`s. Each adds its own `--listen` and `--check`, whose help names what it checks.
package struct ProcessOptions: ParsableArguments {
    @Option(help: "Configuration file (default: $HOOKLINE_CONFIG, else deploy/hookline.yaml if present).")
    package var config: String?

    @Option(help: "Log level (none logs a payload, a signature or a secret).")
    package var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text or json (default: $HOOKLINE_LOG_FORMAT, else text).")
    package var logFormat: LogFormat?

    package init() {}

    /// Sets up logging, loads the configuration, then prints what `checking` finds (`--check`:
    /// ``ConfigurationCheck``) or runs `starting` until it returns. A configuration error exits 78
    /// (EX_CONFIG): printed as the check's verdict, else logged as why the process cannot start.
    package func run(
        label: String,
        check: Bool,
        checking: (HooklineConfiguration) throws(ConfigurationError) -> [String],
        starting: (HooklineConfiguration, Logger) async throws -> Void
    ) async throws {
        do {
            try LogFormat.bootstrap(self.logFormat)
        } catch {
            throw ValidationError(error.message)
        }
        var logger = Logger(label: label)
        logger.logLevel = self.logLevel
        do {
            let configuration = try HooklineConfiguration.load(commandLinePath: self.config)
            if check {
                ConfigurationCheck.printPassed(try checking(configuration))
                return
            }
            try await starting(configuration, logger)
        } catch let error as ConfigurationError where check {
            ConfigurationCheck.printInvalid(error)
            throw ExitCode(78)
        } catch let error as ConfigurationError {
            logger.critical("cannot start: \(error.message)")
            throw ExitCode(78)
        }
    }
}
