import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import HooklineConfig
import HooklineWebhooks
import NIOCore
import NIOHTTP1
import NIOPosix

/// `hookline send <source> <event>`: signs a sample delivery (or `--file`) exactly as the
/// source's provider does and POSTs it to the gateway, like `stripe trigger`.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Sign a test webhook exactly as its provider does and POST it to the gateway.",
        discussion: """
            With a configuration file (--config, $HOOKLINE_CONFIG or deploy/hookline.yaml) that \
            has <source> in `sources:`, its provider, first secret (resolved like the gateway \
            resolves it: ${ENV} or file:PATH), first GitLab signing token, public_url and generic \
            header settings sign the delivery; --secret / --private-key replace its keys (the \
            configured secret and signing token are then not read). \
            Otherwise <source> is the provider name unless --provider names it, and the keys come \
            from --secret / --private-key.

            The body is the provider's shipped sample for <event> (see --list), sent byte for \
            byte except for its delivery id: providers that send the id in a header (GitHub, \
            GitLab, Shopify, Twilio, Standard Webhooks, Linear, generic with id_header) get a \
            fresh UUID per send; providers whose id is inside the body (Stripe, Slack, Discord, \
            Square, Paddle, Intercom) get a fresh id of the same shape written into the sample. \
            --keep-id sends the sample's own ids (the consumers' dedupe then drops repeats). \
            --file sends your body exactly as written, re-signed, with a fresh header id; an id \
            inside your body is yours to change.

            Discord signs with the application's Ed25519 private key, which the gateway's \
            configuration never holds: pass --private-key (64 hex digits of the seed, or \
            ${ENV} / file:PATH). Standard Webhooks sources verified by public key likewise need \
            --private-key whsk_….

            The URL defaults to http://127.0.0.1:8080/webhooks/<source>. --url takes a base \
            (http://host:port, to which /webhooks/<source> is added) or a full URL with a path, \
            used as is. Twilio and Square sign the URL: the source's public_url is signed when \
            configured, else the URL posted to.

            Prints the HTTP status and the gateway's answer. Exit 0 on 2xx, 1 otherwise.
            """
    )

    @Argument(help: "A source name from the configuration, or a provider name.")
    var source: String?

    @Argument(help: "The event: one of the provider's sample events (see --list); with --file, the event for providers that send it in a header.")
    var event: String?

    @Option(name: .long, help: "Send this file's bytes as the body instead of the sample.")
    var file: String?

    @Option(name: .long, help: "The shared secret to sign with (or ${ENV} / file:PATH); overrides the configuration's.")
    var secret: String?

    @Option(name: .customLong("private-key"), help: "Ed25519 private key for Discord (hex seed) or Standard Webhooks (whsk_…); ${ENV} / file:PATH accepted.")
    var privateKey: String?

    @Option(name: .long, help: "The provider, when <source> is not a configured source and not named after its provider.")
    var provider: String?

    @Option(name: .long, help: "Gateway base URL (http://host:port) or full URL. Default: http://127.0.0.1:8080/webhooks/<source>.")
    var url: String?

    @Option(name: .long, help: "The delivery id to send instead of a fresh one.")
    var id: String?

    @Flag(name: .customLong("keep-id"), help: "Send a sample's own delivery ids instead of fresh ones.")
    var keepID = false

    @Flag(name: .long, help: "List the sample events (of <source>'s provider, or of every provider).")
    var list = false

    @Option(name: .long, help: "Seconds to wait for the gateway's answer.")
    var timeout: Int64 = 30

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !self.list {
            guard self.source != nil else { throw ValidationError("Missing <source>. Run `hookline send --list` to see the providers' sample events.") }
            guard self.event != nil else { throw ValidationError("Missing <event>. Run `hookline send \(self.source!) --list` to see its sample events.") }
        }
        guard self.timeout > 0 else { throw ValidationError("--timeout must be positive.") }
    }

    func run() async throws {
        try await self.output.reporting {
            if self.list {
                try self.printList()
            } else {
                try await self.send()
            }
        }
    }

    // MARK: - Sending

    /// Why a file could not be read or a connection made, in the system's words: NIO describes a
    /// refused connection by the step that saw it (`connection reset (error set): Connection
    /// refused (errno: 111)`), Foundation a missing file by its Cocoa error.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case let error as NIOConnectionError:
            // Every address tried failed: the first one's reason (they are alike on one host).
            if let first = error.connectionErrors.first { return self.reason(first.error) }
            return error.dnsAError.map(self.reason) ?? error.dnsAAAAError.map(self.reason) ?? "\(error)"
        case let error as CocoaError:
            if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return String(cString: strerror(Int32(underlying.code)))
            }
            switch error.code {
            case .fileReadNoSuchFile, .fileNoSuchFile: return String(cString: strerror(ENOENT))
            case .fileReadNoPermission: return String(cString: strerror(EACCES))
            default: return error.localizedDescription
            }
        default:
            return "\(error)"
        }
    }

    private func send() async throws {
        guard let sourceName = self.source, let event = self.event else { return }
        let signer = try self.signer(source: sourceName)
        let sample = WebhookSamples.sample(provider: signer.provider, event: event)
        var body: [UInt8]?
        if let file = self.file {
            let data: Data
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CLIError.failed("cannot read \(file): \(String(cString: strerror(EISDIR)))")
            }
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CLIError.failed("cannot read \(file): \(Self.reason(error))")
            }
            body = Array(data)
        } else if sample == nil {
            let events = WebhookSamples.samples(provider: signer.provider).map(\.event)
            throw CLIError.failed(
                "\(signer.provider) has no sample event \(event); samples: \(events.joined(separator: ", ")). Use --file to send your own body."
            )
        }
        let postURL = try self.postURL(source: sourceName)
        let delivery = try OutgoingWebhook.make(
            signer: signer,
            sample: sample ?? WebhookSamples.samples(provider: signer.provider).first,
            body: body,
            event: event,
            id: self.id,
            keepID: self.keepID,
            postURL: postURL,
            timestamp: Int64(Date().timeIntervalSince1970)
        )

        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        for field in delivery.headerFields {
            request.headers.add(name: field.name.rawName, value: field.value)
        }
        request.body = .bytes(delivery.body)
        let status: Int
        let reason: String
        let answer: [UInt8]
        // One connection attempt: the shared client retries a refused one with backoff until the
        // request's deadline, so a gateway that is not running would be reported after 30 s.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let response = try await client.execute(request, timeout: .seconds(self.timeout))
            status = Int(response.status.code)
            reason = response.status.reasonPhrase
            answer = Array(try await response.body.collect(upTo: 1024 * 1024).readableBytesView)
        } catch {
            try? await client.shutdown()
            throw CLIError.failed("cannot POST to \(postURL): \(Self.reason(error))")
        }
        try? await client.shutdown()
        let text = String(decoding: answer, as: UTF8.self)
        if self.output.json {
            let parsed = (try? JSONSerialization.jsonObject(with: Data(answer), options: [.fragmentsAllowed])) ?? text
            JSONOutput.print([
                "status": status,
                "url": delivery.url,
                "source": sourceName,
                "provider": signer.provider,
                "event": event,
                "id": JSONOutput.orNull(delivery.id),
                "timestamp": delivery.timestamp,
                "response": parsed,
            ])
        } else {
            print("\(status) \(reason)")
            if !text.isEmpty { print(text) }
        }
        guard (200...299).contains(status) else { throw ExitCode(1) }
    }

    /// The provider and credentials for `source`: from the configuration's `sources:` when it
    /// has the source, else from the command line.
    private func signer(source: String) throws -> OutgoingWebhook.Signer {
        let resolver = SecretResolver()
        let secret = try self.first(self.secret.map { [$0] } ?? [], "--secret", resolver)
        let privateKey = try self.resolve(self.privateKey, "--private-key", resolver)

        // A configured source lends its settings; --secret / --private-key override its keys. With
        // keys on the command line, an implicit configuration that cannot be read is not needed.
        var loaded: HooklineConfiguration?
        if self.cluster.configurationPath != nil {
            do {
                loaded = try self.cluster.load()
            } catch {
                if self.cluster.config != nil || (secret == nil && privateKey == nil) { throw error }
            }
        }
        if let configuration = loaded {
            if let section = configuration.sources[source] {
                if let provider = self.provider, provider != section.provider {
                    throw CLIError.configuration("sources.\(source) is a \(section.provider) source, not \(provider)")
                }
                // Keys given on the command line replace the configured ones, which are then not
                // resolved at all: their ${ENV} or file need not exist where `send` runs.
                let field = "sources.\(source)"
                let commandLineKeys = secret != nil || privateKey != nil
                let configuredSecret = commandLineKeys ? nil : try self.first(section.secrets, "\(field).secrets", resolver)
                let signingToken = commandLineKeys ? nil : try self.first(section.signingTokens, "\(field).signing_tokens", resolver)
                return OutgoingWebhook.Signer(
                    provider: section.provider,
                    configuration: section.providerConfiguration(),
                    secret: secret ?? configuredSecret,
                    privateKey: privateKey,
                    signingToken: signingToken
                )
            }
            if self.cluster.config != nil, secret == nil, privateKey == nil {
                let known = configuration.sources.keys.sorted().joined(separator: ", ")
                throw CLIError.configuration("\(self.cluster.configurationPath ?? "the configuration") has no source \(source); sources: \(known). Pass --secret to sign without one.")
            }
        }

        let provider = self.provider ?? source
        guard WebhookProviders.provider(named: provider) != nil else {
            throw CLIError.failed("\(provider) is neither a configured source nor a provider. Providers: \(WebhookProviders.names.joined(separator: ", ")).")
        }
        return OutgoingWebhook.Signer(
            provider: provider,
            configuration: WebhookSamples.samples(provider: provider).first?.configuration ?? ProviderConfiguration(),
            secret: secret,
            privateKey: privateKey,
            signingToken: nil
        )
    }

    private func resolve(_ value: String?, _ field: String, _ resolver: SecretResolver) throws(CLIError) -> String? {
        guard let value else { return nil }
        do {
            return try resolver.resolve(value, for: field)
        } catch {
            throw .configuration(error.message)
        }
    }

    /// What a source, or `--secret`, signs with: the first credential of its list (a `file:`'s
    /// first line, the new secret while a rotation is under way).
    private func first(_ references: [String], _ field: String, _ resolver: SecretResolver) throws(CLIError) -> String? {
        guard let reference = references.first else { return nil }
        do {
            return try resolver.resolve([reference], for: field).first
        } catch {
            throw .configuration(error.message)
        }
    }

    /// `--url` as a base (no path: `/webhooks/<source>` added) or a full URL; default the local gateway.
    private func postURL(source: String) throws(CLIError) -> String {
        let base = self.url ?? "http://127.0.0.1:8080"
        guard var components = URLComponents(string: base), let scheme = components.scheme, ["http", "https"].contains(scheme), components.host != nil else {
            throw .failed("--url must be an http(s) URL, such as http://127.0.0.1:8080")
        }
        if components.path.isEmpty || components.path == "/" {
            // Before any query (`http://host:8080?x=1`), which stays.
            components.path = "/webhooks/" + source
            return components.string ?? base
        }
        return base
    }

    // MARK: - Listing

    private func printList() throws {
        var providers = WebhookSamples.providers
        if let source = self.source {
            var provider = self.provider ?? source
            if self.provider == nil, self.cluster.configurationPath != nil, let section = try self.cluster.load().sources[source] {
                provider = section.provider
            }
            guard WebhookProviders.provider(named: provider) != nil else {
                throw CLIError.failed("\(provider) is neither a configured source nor a provider. Providers: \(WebhookProviders.names.joined(separator: ", ")).")
            }
            providers = [provider]
        }
        if self.output.json {
            JSONOutput.print(providers.map { ["provider": $0, "events": WebhookSamples.samples(provider: $0).map(\.event)] })
        } else {
            let width = providers.map(\.count).max() ?? 0
            for provider in providers {
                let events = WebhookSamples.samples(provider: provider).map(\.event)
                print(provider.padding(toLength: width + 2, withPad: " ", startingAt: 0) + events.joined(separator: "  "))
            }
        }
    }
}
