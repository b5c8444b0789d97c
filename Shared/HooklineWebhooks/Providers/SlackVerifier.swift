import Crypto
import HTTPTypes

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 over `v0:<X-Slack-Request-Timestamp>:<body>`,
/// with timestamp tolerance.
///
/// JSON bodies (Events API): `url_verification` is answered with `{"challenge": …}` and not
/// published; `event_callback` has event `event.type`, id `event_id`; key `team_id`.
/// Form bodies: a slash command (`command=…`) has event `slash_command` and a `slack-command`
/// header; an interactivity `payload=<json>` has the payload's `type`; id `trigger_id`; key the team
/// id. Once published, they are answered with an empty 200, Slack's bare acknowledgement: a body
/// would be taken as the command's reply message or a modal's `response_action`. The consumer
/// replies later through the delivery's `response_url` or the Web API.
///
/// Slack's certificate check of a slash command's URL (a form with `ssl_check=1` and a token,
/// sent now and then to publicly distributed apps) is answered with an empty 200 and not
/// published, signed or not, as Slack's own Bolt answers it: it carries no event, and a 401 would
/// fail the check. Only a body of at most ``sslCheckLimit`` bytes is read for it before the
/// signature (Slack's is `ssl_check=1&token=…`, some 60 bytes): a larger form is parsed only once
/// its signature holds, so a forged megabyte of `a&a&…` costs a 401, not a parse.
public struct SlackVerifier: WebhookVerifier {
    public static let provider = "slack"
    public static let settings: Set<ProviderSetting> = [.secrets, .toleranceSeconds]

    static let signatureHeader = HTTPField.Name("X-Slack-Signature")!
    static let timestampHeader = HTTPField.Name("X-Slack-Request-Timestamp")!
    static let type = JSONPointer(members: "type")
    static let eventType = JSONPointer(members: "event", "type")
    static let eventID = JSONPointer(members: "event_id")
    static let challenge = JSONPointer(members: "challenge")
    static let teamID = JSONPointer(members: "team_id")
    static let team = JSONPointer(members: "team", "id")
    static let triggerID = JSONPointer(members: "trigger_id")
    static let sslCheckLimit = 1024

    let keys: HMACKeys<SHA256>
    let tolerance: Int64

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (the signing secret).")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.tolerance = configuration.toleranceSeconds
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let isForm = FormBody.looksLikeForm(request.body)
        if isForm, request.body.count <= Self.sslCheckLimit, FormBody.parse(request.body).first("ssl_check") == "1" {
            return Self.sslCheck
        }
        let headers = request.headerFields
        let signature = try headers.signature(Self.signatureHeader)
        let timestampText = try headers.required(Self.timestampHeader)
        guard let timestamp = Timestamp.parse(timestampText) else { throw .malformedHeader(Self.timestampHeader) }
        try Timestamp.check(timestamp, now: request.now, tolerance: self.tolerance)
        guard signature.hasPrefix("v0="), let code = Hex.decode(signature.dropFirst(3)) else {
            throw .malformedSignature(Self.signatureHeader)
        }
        guard
            self.keys.authenticates(code, { hmac in
                hmac.update(utf8: "v0:")
                hmac.update(utf8: timestampText)
                hmac.update(utf8: ":")
                hmac.update(bytes: request.body)
            })
        else {
            throw .badSignature(Self.signatureHeader)
        }
        guard isForm else { return try self.json(request.body) }
        let form = FormBody.parse(request.body)
        return form.first("ssl_check") == "1" ? Self.sslCheck : try self.form(form)
    }

    private static var sslCheck: VerifiedWebhook {
        VerifiedWebhook(provider: Self.provider, event: "ssl_check", id: DeliveryID.random(), publish: false, reply: .emptyOK)
    }

    private func json(_ body: [UInt8]) throws(WebhookError) -> VerifiedWebhook {
        guard JSONScanner.isObject(body) else { throw .malformedBody("a JSON object or a form") }
        let type = JSONScanner.value(at: Self.type, in: body)?.string
        let team = JSONScanner.value(at: Self.teamID, in: body)?.string
        switch type {
        case "url_verification":
            guard let challenge = JSONScanner.value(at: Self.challenge, in: body)?.string else {
                throw .malformedBody("a url_verification with a challenge")
            }
            return VerifiedWebhook(
                provider: Self.provider,
                event: type,
                id: DeliveryID.random(),
                publish: false,
                reply: .json("{\"challenge\":" + JSONText.quote(challenge) + "}")
            )
        case "event_callback":
            let event = JSONScanner.value(at: Self.eventType, in: body)?.string
            let id = JSONScanner.value(at: Self.eventID, in: body)?.string ?? DeliveryID.random()
            return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: team)
        default:
            let id = JSONScanner.value(at: Self.eventID, in: body)?.string ?? DeliveryID.random()
            return VerifiedWebhook(provider: Self.provider, event: type, id: id, key: team)
        }
    }

    private func form(_ pairs: [FormBody.Pair]) throws(WebhookError) -> VerifiedWebhook {
        if let payload = pairs.first("payload") {
            let json = Array(payload.utf8)
            guard JSONScanner.isObject(json) else { throw .malformedBody("a form whose payload is a JSON object") }
            guard let type = JSONScanner.value(at: Self.type, in: json)?.string else {
                throw .malformedBody("an interactivity payload with a type")
            }
            let id = JSONScanner.value(at: Self.triggerID, in: json)?.string ?? DeliveryID.random()
            let team = JSONScanner.value(at: Self.team, in: json)?.string ?? JSONScanner.value(at: Self.teamID, in: json)?.string
            return VerifiedWebhook(provider: Self.provider, event: type, id: id, key: team, reply: .emptyOK)
        }
        let id = pairs.first("trigger_id").flatMap { $0.isEmpty ? nil : $0 } ?? DeliveryID.random()
        let team = pairs.first("team_id")
        if let command = pairs.first("command") {
            return VerifiedWebhook(
                provider: Self.provider,
                event: "slash_command",
                id: id,
                key: team,
                headers: [.init(name: "slack-command", value: command)],
                reply: .emptyOK
            )
        }
        return VerifiedWebhook(provider: Self.provider, event: "unknown", id: id, key: team, reply: .emptyOK)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        let timestamp = String(message.timestamp)
        let code = HMACKeys<SHA256>.code(secret: secret) { hmac in
            hmac.update(utf8: "v0:")
            hmac.update(utf8: timestamp)
            hmac.update(utf8: ":")
            hmac.update(bytes: message.body)
        }
        var headers = HTTPFields()
        headers[self.timestampHeader] = timestamp
        headers[self.signatureHeader] = "v0=" + Hex.encode(code)
        headers[.contentType] = FormBody.looksLikeForm(message.body) ? "application/x-www-form-urlencoded" : "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension SlackVerifier {
    /// Slack Events API: `event_callback` deliveries of an `app_mention` and a channel `message`.
    /// The verifier reports the inner `event.type`; the id is `event_id`, the key `team_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "slack",
            event: "app_mention",
            body: #"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"app_mention","user":"U061F7AUR","text":"<@U0LAN0Z89> is the order feed healthy?","ts":"1715678655.000200","client_msg_id":"8c1f5a2e-7b3d-4f9a-a6e0-2c4d6f8b0a13","team":"T061EG9R6","channel":"C0LAN2Q65","event_ts":"1715678655.000200","blocks":[{"type":"rich_text","block_id":"Vx2p","elements":[{"type":"rich_text_section","elements":[{"type":"user","user_id":"U0LAN0Z89"},{"type":"text","text":" is the order feed healthy?"}]}]}]},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1715678655,"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6ImFwcF9tZW50aW9uIiwidGlkIjoiVDA2MUVHOVI2IiwiYWlkIjoiQTBNRFlDRE1FIiwiY2lkIjoiQzBMQU4yUTY1In0"}"#,
            expectedID: "Ev08MFMKH6",
            expectedKey: "T061EG9R6"
        ),
        WebhookSample(
            provider: "slack",
            event: "message",
            body: #"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"message","channel":"C0LAN2Q65","user":"U061F7AUR","text":"Order #1001 shipped with DHL, tracking 1Z2345","ts":"1715688191.000400","client_msg_id":"e4b7d0a3-2c6f-4a81-9d5e-7f0a3c6e9b24","team":"T061EG9R6","event_ts":"1715688191.000400","channel_type":"channel"},"type":"event_callback","event_id":"Ev08MH2QJ1","event_time":1715688191,"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDYxRUc5UjYiLCJhaWQiOiJBME1EWUNETUUiLCJjaWQiOiJDMExBTjJRNjUifQ"}"#,
            expectedID: "Ev08MH2QJ1",
            expectedKey: "T061EG9R6"
        ),
    ]
}
