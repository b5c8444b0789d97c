import Crypto
import HTTPTypes

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. Event `X-GitHub-Event`,
/// id `X-GitHub-Delivery`, key `repository.full_name`, read from the JSON body or, for a hook whose
/// content type is `form` (the REST API's default), from its URL-encoded `payload=` field.
public struct GitHubVerifier: WebhookVerifier {
    public static let provider = "github"
    public static let settings: Set<ProviderSetting> = [.secrets]

    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!
    static let legacySignatureHeader = HTTPField.Name("X-Hub-Signature")!
    static let eventHeader = HTTPField.Name("X-GitHub-Event")!
    static let deliveryHeader = HTTPField.Name("X-GitHub-Delivery")!
    static let repository = JSONPointer(members: "repository", "full_name")

    let keys: HMACKeys<SHA256>

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.deliveryHeader] }

    public var unsignedEventSource: String? { "the X-GitHub-Event header" }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets.")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signature = try headers.signature(Self.signatureHeader)
        guard signature.hasPrefix("sha256="), let code = Hex.decode(signature.dropFirst(7)) else {
            throw .malformedSignature(Self.signatureHeader)
        }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(Self.signatureHeader)
        }
        let event = try headers.optional(Self.eventHeader)
        let id = try headers.required(Self.deliveryHeader)
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: Self.repositoryName(in: request.body))
    }

    /// `repository.full_name`, so that one repository's events keep their order.
    static func repositoryName(in body: [UInt8]) -> String? {
        guard FormBody.looksLikeForm(body) else {
            return JSONScanner.value(at: Self.repository, in: body)?.string
        }
        guard let payload = FormBody.parse(body).first("payload") else { return nil }
        return JSONScanner.value(at: Self.repository, in: Array(payload.utf8))?.string
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        var headers = HTTPFields()
        headers[self.eventHeader] = message.event ?? "ping"
        headers[self.deliveryHeader] = message.id ?? DeliveryID.random()
        headers[self.legacySignatureHeader] = "sha1=" + Hex.encode(HMACKeys<Insecure.SHA1>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[self.signatureHeader] = "sha256=" + Hex.encode(HMACKeys<SHA256>.code(secret: secret) { $0.update(bytes: message.body) })
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension GitHubVerifier {
    /// GitHub: `push`, `pull_request` (opened), `issues` (opened), `ping`. Event and delivery id
    /// travel in `X-GitHub-Event` and `X-GitHub-Delivery`; the key is `repository.full_name`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "github",
            event: "push",
            body: #"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","created":false,"deleted":false,"forced":false,"compare":"https://github.com/hookline/gateway/compare/6113728f27ae...0d1a26e67d8f","commits":[{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,"message":"Publish with acks=all and wait for the delivery report","timestamp":"2024-05-14T09:21:07+02:00","url":"https://github.com/hookline/gateway/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","author":{"name":"Ada Lovelace","email":"ada@example.com","username":"ada"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},"added":[],"removed":[],"modified":["Shared/HooklineGateway/Publisher.swift"]}],"head_commit":{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,"message":"Publish with acks=all and wait for the delivery report","timestamp":"2024-05-14T09:21:07+02:00","url":"https://github.com/hookline/gateway/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","author":{"name":"Ada Lovelace","email":"ada@example.com","username":"ada"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},"added":[],"removed":[],"modified":["Shared/HooklineGateway/Publisher.swift"]},"repository":{"id":781245116,"node_id":"R_kgDOLpDnvA","name":"gateway","full_name":"hookline/gateway","private":false,"owner":{"login":"hookline","id":167012345,"type":"Organization"},"html_url":"https://github.com/hookline/gateway","default_branch":"main","pushed_at":1715671268},"pusher":{"name":"ada","email":"ada@example.com"},"sender":{"login":"ada","id":5837192,"type":"User"}}"#,
            id: "8f2c3e50-11c9-11ef-9a2b-7d0e4c1f0a61",
            expectedKey: "hookline/gateway"
        ),
        WebhookSample(
            provider: "github",
            event: "pull_request",
            body: #"{"action":"opened","number":42,"pull_request":{"id":1873456120,"number":42,"state":"open","locked":false,"title":"Retry publishing on transient broker errors","user":{"login":"grace","id":7012331,"type":"User"},"body":"Retries `_MSG_TIMED_OUT` and `_TRANSPORT` up to three times before answering 503.","created_at":"2024-05-14T10:02:45Z","updated_at":"2024-05-14T10:02:45Z","draft":false,"html_url":"https://github.com/hookline/gateway/pull/42","head":{"label":"grace:retry-transient","ref":"retry-transient","sha":"9b7e4d2c1a0f3e5d6c7b8a9f0e1d2c3b4a5f6e7d","repo":{"id":781245990,"full_name":"grace/gateway"}},"base":{"label":"hookline:main","ref":"main","sha":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repo":{"id":781245116,"full_name":"hookline/gateway"}},"merged":false,"mergeable":null,"commits":3,"additions":87,"deletions":12,"changed_files":4},"repository":{"id":781245116,"node_id":"R_kgDOLpDnvA","name":"gateway","full_name":"hookline/gateway","private":false,"owner":{"login":"hookline","id":167012345,"type":"Organization"},"default_branch":"main"},"sender":{"login":"grace","id":7012331,"type":"User"}}"#,
            id: "b7a41c80-11ce-11ef-8e9d-3f5a2b6c7d80",
            expectedKey: "hookline/gateway"
        ),
        WebhookSample(
            provider: "github",
            event: "issues",
            body: #"{"action":"opened","issue":{"id":2294518876,"number":57,"title":"Gateway answers 500 when the body is empty","user":{"login":"linus","id":1024025,"type":"User"},"labels":[{"id":6821340955,"name":"bug","color":"d73a4a"}],"state":"open","locked":false,"assignees":[],"comments":0,"created_at":"2024-05-14T11:30:12Z","updated_at":"2024-05-14T11:30:12Z","closed_at":null,"html_url":"https://github.com/hookline/gateway/issues/57","body":"POSTing an empty body to /hooks/github returns 500 instead of 400.\n\nSteps: `curl -X POST localhost:8080/hooks/github`"},"repository":{"id":781245116,"node_id":"R_kgDOLpDnvA","name":"gateway","full_name":"hookline/gateway","private":false,"owner":{"login":"hookline","id":167012345,"type":"Organization"},"default_branch":"main"},"sender":{"login":"linus","id":1024025,"type":"User"}}"#,
            id: "c3d9e2f0-11d8-11ef-8b1c-5a6e7f809a12",
            expectedKey: "hookline/gateway"
        ),
        WebhookSample(
            provider: "github",
            event: "ping",
            body: #"{"zen":"Keep it logically awesome.","hook_id":478123456,"hook":{"type":"Repository","id":478123456,"name":"web","active":true,"events":["issues","pull_request","push"],"config":{"content_type":"json","insecure_ssl":"0","url":"https://hooks.example.com/hooks/github"},"updated_at":"2024-05-14T08:00:00Z","created_at":"2024-05-14T08:00:00Z","url":"https://api.github.com/repos/hookline/gateway/hooks/478123456","ping_url":"https://api.github.com/repos/hookline/gateway/hooks/478123456/pings","last_response":{"code":null,"status":"unused","message":null}},"repository":{"id":781245116,"node_id":"R_kgDOLpDnvA","name":"gateway","full_name":"hookline/gateway","private":false,"owner":{"login":"hookline","id":167012345,"type":"Organization"},"default_branch":"main"},"sender":{"login":"ada","id":5837192,"type":"User"}}"#,
            id: "1e5c8a00-11c0-11ef-9f3e-2b4d6f8a0c1e",
            expectedKey: "hookline/gateway"
        ),
    ]
}
