import ArgumentParser
import HooklineConfig
import HooklineGateway

@main
struct HooklineGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline-gateway",
        abstract: "Verify webhooks and publish them to Kafka, acknowledging only what the broker stored."
    )

    @OptionGroup var options: ProcessOptions

    @Option(name: .long, help: "HOST:PORT to listen on, overriding gateway.listen.")
    var listen: String?

    @Flag(name: .long, help: "Check the configuration (addresses, sources, secrets, Kafka properties) without starting; exit 0 when it would start, 78 when not.")
    var check = false

    func run() async throws {
        let (listen, path) = (self.listen, self.options.config)
        try await self.options.run(label: "hookline.gateway", check: self.check) { configuration throws(ConfigurationError) in
            try GatewayApplication.check(configuration: configuration, listen: listen)
        } starting: { configuration, logger in
            try await GatewayApplication.run(
                configuration: configuration,
                listen: listen,
                reloadingWith: { () throws(ConfigurationError) in try HooklineConfiguration.load(commandLinePath: path) },
                logger: logger
            )
        }
    }
}
