import Crypto
import HTTPTypes

/// Discord: Ed25519 over `X-Signature-Timestamp` followed by the body; the signature in
/// `X-Signature-Ed25519` and the application public keys as hex. The timestamp is also held to the
/// tolerance.
///
/// Interactions: PING (type 1) is answered `{"type":1}` and not published; types 2–5 are
/// `application_command`, `message_component`, `application_command_autocomplete`,
/// `modal_submit`; id body `id`, key `guild_id`. Once published, an interaction is answered with
/// the deferred response Discord accepts for its type (`{"type":5}`, "thinking…", for commands
/// and modals; `{"type":6}` for components; no suggestions for autocomplete), so a consumer
/// completes it later through the interaction's token.
///
/// Webhook events (type 1 with an `event` object) have event `event.type` lowercased and are
/// answered 204, as Discord asks; they carry no id, so theirs is derived from the body, which a
/// retry repeats. Their PING (type 0) is answered 204 and not published.
public struct DiscordVerifier: WebhookVerifier {
    public static let provider = "discord"
    public static let settings: Set<ProviderSetting> = [.publicKeys, .toleranceSeconds]

    static let signatureHeader = HTTPField.Name("X-Signature-Ed25519")!
    static let timestampHeader = HTTPField.Name("X-Signature-Timestamp")!
    static let type = JSONPointer(members: "type")
    static let id = JSONPointer(members: "id")
    static let guild = JSONPointer(members: "guild_id")
    static let event = JSONPointer(members: "event")
    static let eventType = JSONPointer(members: "event", "type")

    /// Each interaction type's event, and the response Discord accepts for it once published.
    static let interactions: [Int64: (event: String, reply: WebhookReply)] = [
        2: ("application_command", .json(#"{"type":5}"#)),
        3: ("message_component", .json(#"{"type":6}"#)),
        4: ("application_command_autocomplete", .json(#"{"type":8,"data":{"choices":[]}}"#)),
        5: ("modal_submit", .json(#"{"type":5}"#)),
    ]

    let keys: [Curve25519.Signing.PublicKey]
    let tolerance: Int64

    public var verifiesWithPublicKeys: Bool { true }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.publicKeys.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in public_keys (the application's public key, hex).")
        }
        var keys: [Curve25519.Signing.PublicKey] = []
        for key in configuration.publicKeys {
            keys.append(try SigningKeys.ed25519PublicKey(Hex.decode(key), provider: Self.provider, what: "the 64 hex digits"))
        }
        self.keys = keys
        self.tolerance = configuration.toleranceSeconds
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signatureText = try headers.signature(Self.signatureHeader)
        let timestampText = try headers.required(Self.timestampHeader)
        guard let timestamp = Timestamp.parse(timestampText) else { throw .malformedHeader(Self.timestampHeader) }
        try Timestamp.check(timestamp, now: request.now, tolerance: self.tolerance)
        guard let signature = Hex.decode(signatureText), signature.count == 64 else {
            throw .malformedSignature(Self.signatureHeader)
        }
        var message: [UInt8] = []
        message.reserveCapacity(timestampText.utf8.count + request.body.count)
        message.append(contentsOf: timestampText.utf8)
        message.append(contentsOf: request.body)
        guard self.keys.contains(where: { $0.isValidSignature(signature, for: message) }) else {
            throw .badSignature(Self.signatureHeader)
        }

        let body = request.body
        try request.requireJSONObjectBody()
        guard let type = JSONScanner.value(at: Self.type, in: body)?.integer else {
            throw .malformedBody("a Discord payload with a numeric type")
        }
        let bodyID = JSONScanner.value(at: Self.id, in: body)?.string
        if JSONScanner.value(at: Self.event, in: body) == .object {
            let event = JSONScanner.value(at: Self.eventType, in: body)?.string?.lowercased() ?? "unknown"
            return VerifiedWebhook(provider: Self.provider, event: event, id: bodyID ?? DeliveryID.derived(from: body), reply: .noContent)
        }
        let id = bodyID ?? DeliveryID.random()
        let guild = JSONScanner.value(at: Self.guild, in: body)?.string
        switch type {
        case 0:
            return VerifiedWebhook(provider: Self.provider, event: "ping", id: id, publish: false, reply: .noContent)
        case 1:
            return VerifiedWebhook(provider: Self.provider, event: "ping", id: id, publish: false, reply: .json(#"{"type":1}"#))
        default:
            let interaction = Self.interactions[type]
            return VerifiedWebhook(
                provider: Self.provider,
                event: interaction?.event ?? "interaction_" + String(type),
                id: id,
                key: guild,
                reply: interaction?.reply
            )
        }
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let privateKey = try SigningKeys.require(message.privateKey, provider: self.provider, "private key")
        let key = try SigningKeys.ed25519PrivateKey(Hex.decode(privateKey), provider: self.provider, what: "the hex")
        let timestamp = String(message.timestamp)
        let signature = try SigningKeys.ed25519Sign(Array(timestamp.utf8) + message.body, with: key, provider: self.provider)
        var headers = HTTPFields()
        headers[self.signatureHeader] = Hex.encode(signature)
        headers[self.timestampHeader] = timestamp
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension DiscordVerifier {
    /// Discord interactions: a slash command (type 2, `application_command`). Signed with the
    /// application's Ed25519 private key; the id is the interaction `id`, the key `guild_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "discord",
            event: "application_command",
            body: #"{"app_permissions":"562949953601536","application_id":"1239871623456789012","authorizing_integration_owners":{"0":"613425648685547541"},"channel":{"flags":0,"guild_id":"613425648685547541","id":"613425648685547544","name":"orders","nsfw":false,"parent_id":null,"position":2,"type":0},"channel_id":"613425648685547544","context":0,"data":{"id":"1239872209876543210","name":"order","options":[{"name":"status","type":1,"options":[{"name":"id","type":3,"value":"ord_1001"}]}],"type":1},"entitlements":[],"guild_id":"613425648685547541","guild_locale":"en-US","id":"1239874411223344556","locale":"en-GB","member":{"avatar":null,"deaf":false,"joined_at":"2021-03-02T18:24:51.102000+00:00","mute":false,"nick":null,"permissions":"2248473465835073","roles":["613425648685547542"],"user":{"avatar":"a_d5efa99b3eeaa7dd43acca82f5692432","discriminator":"0","global_name":"Ada","id":"53908232506183680","username":"ada"}},"token":"aW50ZXJhY3Rpb246MTIzOTg3NDQxMTIyMzM0NDU1NjpTUjBlSGE3d2Q5Uk5xb1J4","type":2,"version":1}"#,
            expectedID: "1239874411223344556",
            expectedKey: "613425648685547541"
        ),
    ]
}
