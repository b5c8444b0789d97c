import ArgumentParser
import Foundation
import HooklineConfig
import HooklineKafka
import Logging

/// Where the cluster is and how topics are named: from the configuration file every Hookline
/// process reads, with `--brokers` to point elsewhere.
struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $HOOKLINE_CONFIG, else deploy/hookline.yaml if present).")
    var config: String?

    @Option(name: .long, help: "Kafka bootstrap servers, overriding the configuration's kafka.brokers (default: $KAFKA_BROKERS, else 127.0.0.1:9092).")
    var brokers: String?

    /// The configuration file in use, if any.
    var configurationPath: String? {
        self.config ?? HooklineConfiguration.defaultPath()
    }

    /// The configuration, or defaults when there is no file; `--brokers` wins over the file.
    func load() throws -> HooklineConfiguration {
        var environment = ProcessInfo.processInfo.environment
        if let brokers { environment["KAFKA_BROKERS"] = brokers }
        // A file that takes its brokers from the environment (as deploy/hookline.yaml does)
        // still loads without it: commands that need no broker, like `send`, should not fail,
        // and the others try the usual local address.
        if environment["KAFKA_BROKERS", default: ""].isEmpty { environment["KAFKA_BROKERS"] = "127.0.0.1:9092" }
        var configuration: HooklineConfiguration
        do {
            if let path = self.configurationPath {
                configuration = try HooklineConfiguration.load(path: path, environment: environment)
            } else {
                configuration = HooklineConfiguration()
                configuration.kafka.brokers = environment["KAFKA_BROKERS"] ?? configuration.kafka.brokers
            }
        } catch {
            throw CLIError.configuration(error.message)
        }
        if let brokers { configuration.kafka.brokers = brokers }
        return configuration
    }

    func kafka(_ configuration: HooklineConfiguration) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "hookline-cli", properties: configuration.kafka.properties)
    }

    func admin(_ configuration: HooklineConfiguration) throws -> KafkaAdmin {
        try KafkaAdmin(configuration: self.kafka(configuration), logger: .cli)
    }
}

/// Writes `line` and a newline to standard output at once, past `print`'s buffer: for commands
/// that go on (`lag --watch`, `tail --follow`), whose lines must reach a pipe as they are made.
func printUnbuffered(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// `--json`: machine-readable output instead of tables.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}

/// A failure the user can act on; printed as one line (or a JSON object with --json) with its exit code.
enum CLIError: Error, CustomStringConvertible {
    /// Something went wrong: exit 1.
    case failed(String)
    /// Refused because it is not safe now: exit 3.
    case refused(String)
    /// The configuration file is wrong: exit 78.
    case configuration(String)

    var description: String {
        switch self {
        case .failed(let message), .refused(let message), .configuration(let message): message
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .failed: ExitCode(1)
        case .refused: ExitCode(3)
        case .configuration: ExitCode(78)
        }
    }
}

extension Logger {
    /// librdkafka's own complaints, at warning and above, on standard error.
    static let cli: Logger = {
        var logger = Logger(label: "hookline.cli")
        logger.logLevel = .warning
        return logger
    }()
}

extension OutputOptions {
    /// Runs a subcommand's work; a failure becomes one line on standard error (an
    /// `{"error": …}` object on standard output with --json) and its exit code.
    func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            self.report(error.description)
            throw error.exitCode
        } catch let error as KafkaError {
            self.report("\(error)")
            // A librdkafka property it refuses is the configuration's fault.
            throw error.code == .invalidConfiguration ? CLIError.configuration("").exitCode : ExitCode(1)
        }
    }

    func report(_ message: String) {
        if self.json {
            let data = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            FileHandle.standardError.write(Data("hookline: \(message)\n".utf8))
        }
    }
}
