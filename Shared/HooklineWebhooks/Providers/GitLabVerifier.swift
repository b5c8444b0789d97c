import HTTPTypes

/// GitLab: `X-Gitlab-Token` equal to a configured secret (compared in constant time), or, with
/// signing tokens configured (GitLab 19+), a Standard Webhooks signature. With both configured
/// (while hooks move from tokens to signing), a delivery needs one of them, and each one it
/// carries must be right.
///
/// Event from `X-Gitlab-Event`, lowercased without ` Hook`, spaces as `_` (`Merge Request Hook` →
/// `merge_request`), and checked against the body's `object_kind`. System hooks take the body's
/// `event_name`. An issue or note the body marks confidential (or internal) is a
/// `confidential_issue` or `confidential_note` whatever the header says: the header is not
/// signed, and a topic's readers must not get confidential content by a re-sent delivery.
/// Id `Idempotency-Key`, else `X-Gitlab-Event-UUID`; key `project.path_with_namespace`.
public struct GitLabVerifier: WebhookVerifier {
    public static let provider = "gitlab"
    public static let settings: Set<ProviderSetting> = [.secrets, .signingTokens, .toleranceSeconds]

    static let tokenHeader = HTTPField.Name("X-Gitlab-Token")!
    static let eventHeader = HTTPField.Name("X-Gitlab-Event")!
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!
    static let uuidHeader = HTTPField.Name("X-Gitlab-Event-UUID")!
    static let objectKind = JSONPointer(members: "object_kind")
    static let eventName = JSONPointer(members: "event_name")
    static let project = JSONPointer(members: "project", "path_with_namespace")
    /// Where an issue's or a note's body says it is confidential: the issue or work item
    /// itself; a note's own flag (`internal` since GitLab 15.0) or its issue's.
    static let confidentialIn: [String: [JSONPointer]] = [
        "issue": [JSONPointer(members: "object_attributes", "confidential")],
        "note": [
            JSONPointer(members: "object_attributes", "confidential"),
            JSONPointer(members: "object_attributes", "internal"),
            JSONPointer(members: "issue", "confidential"),
        ],
    ]

    /// The other `object_kind`s an event's body may carry. Work items other than issues (tasks,
    /// epics, …) arrive as `Issue Hook` or `Confidential Issue Hook` with kind `work_item`, GitLab
    /// 17.7 and later new issues too (gitlab4j/gitlab4j-api#1215, xanzy/go-gitlab#1577).
    static let objectKinds: [String: Set<String>] = [
        "job": ["build"],
        "issue": ["work_item"],
        "confidential_issue": ["issue", "work_item"],
        "confidential_note": ["note"],
        "resource_access_token": ["access_token"],
    ]

    let tokens: [SecretDigest]
    let signing: StandardWebhooksScheme?

    /// A token (`X-Gitlab-Token`) signs nothing: whoever has one delivery has the token. With
    /// signing tokens alone the body is signed, but the header is checked only against a body's
    /// `object_kind`, which system hooks' bodies do not have.
    public var unsignedEventSource: String? {
        self.tokens.isEmpty
            ? "the X-Gitlab-Event header where the signed body has no object_kind to hold it to (system hooks)"
            : "the X-Gitlab-Event header and the body, which a token does not sign"
    }

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.idempotencyHeader, Self.uuidHeader, StandardWebhooksScheme.idHeader] }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty || !configuration.signingTokens.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets or signing_tokens.")
        }
        self.tokens = configuration.secrets.map(SecretDigest.init)
        self.signing = configuration.signingTokens.isEmpty
            ? nil
            : try StandardWebhooksScheme(
                secrets: configuration.signingTokens,
                publicKeys: [],
                tolerance: configuration.toleranceSeconds,
                provider: Self.provider,
                setting: "signing_tokens"
            )
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        var signedID: String?
        if let signing = self.signing, self.tokens.isEmpty || headers[StandardWebhooksScheme.signatureHeader] != nil {
            signedID = try signing.verify(request)
        }
        if !self.tokens.isEmpty, signedID == nil || headers[Self.tokenHeader] != nil {
            let token = try headers.signature(Self.tokenHeader)
            guard self.tokens.contains(where: { $0.matches(token) }) else { throw .badSignature(Self.tokenHeader) }
        }

        var event = try headers.optional(Self.eventHeader).map(Self.normalise)
        try request.requireJSONObjectBody()
        let kind = JSONScanner.value(at: Self.objectKind, in: request.body)?.string
        if event == "system" {
            event = JSONScanner.value(at: Self.eventName, in: request.body)?.string ?? kind ?? event
        } else if let event, let kind, kind != event, Self.objectKinds[event]?.contains(kind) != true {
            throw .eventMismatch(Self.eventHeader, "object_kind")
        } else if let plain = event, let pointers = Self.confidentialIn[plain],
            pointers.contains(where: { JSONScanner.value(at: $0, in: request.body) == .bool(true) })
        {
            event = "confidential_" + plain
        }
        // A signed delivery's id is the signed `webhook-id` (GitLab sends the same value as
        // `Idempotency-Key`): an unsigned header must not give a replayed delivery a fresh id.
        let idempotencyKey = try headers.optional(Self.idempotencyHeader)
        let eventUUID = try headers.optional(Self.uuidHeader)
        let id = signedID ?? idempotencyKey ?? eventUUID ?? DeliveryID.random()
        let key = JSONScanner.value(at: Self.project, in: request.body)?.string
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    /// `Merge Request Hook` → `merge_request`.
    static func normalise(_ header: String) -> String {
        var name = header.lowercased()
        if name.hasSuffix(" hook") { name.removeLast(5) }
        return String(name.map { $0 == " " ? "_" : $0 })
    }

    /// `merge_request` → `Merge Request Hook`.
    static func headerValue(_ event: String) -> String {
        event.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ") + " Hook"
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        guard message.secret != nil || message.signingToken != nil else {
            throw WebhookConfigurationError(provider: self.provider, message: "Signing needs a secret token or a signing token.")
        }
        let id = message.id ?? DeliveryID.random()
        var headers = HTTPFields()
        if let signingToken = message.signingToken {
            headers = try StandardWebhooksScheme.sign(
                secret: signingToken,
                privateKey: nil,
                id: id,
                timestamp: message.timestamp,
                body: message.body,
                provider: self.provider
            )
        }
        headers[self.eventHeader] = self.headerValue(message.event ?? "push")
        headers[self.idempotencyHeader] = id
        headers[self.uuidHeader] = DeliveryID.random()
        if let secret = message.secret {
            headers[self.tokenHeader] = secret
        }
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension GitLabVerifier {
    /// GitLab: `push` and `merge_request`. The event travels in `X-Gitlab-Event` (`Push Hook`,
    /// `Merge Request Hook`) and must match `object_kind`; the id in `Idempotency-Key`; the key is
    /// `project.path_with_namespace`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "gitlab",
            event: "push",
            body: ##"{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/main","ref_protected":true,"checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":null,"user_id":4,"user_name":"John Smith","user_username":"jsmith","user_email":"","user_avatar":"https://gitlab.example.com/uploads/-/system/user/avatar/4/avatar.png","project_id":15,"project":{"id":15,"name":"Billing","description":"Invoices and payment reconciliation","web_url":"https://gitlab.example.com/acme/billing","git_ssh_url":"git@gitlab.example.com:acme/billing.git","git_http_url":"https://gitlab.example.com/acme/billing.git","namespace":"Acme","visibility_level":0,"path_with_namespace":"acme/billing","default_branch":"main"},"commits":[{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"Round VAT per line, not per invoice\n","title":"Round VAT per line, not per invoice","timestamp":"2024-05-14T09:44:19+02:00","url":"https://gitlab.example.com/acme/billing/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7","author":{"name":"John Smith","email":"[REDACTED]"},"added":[],"modified":["lib/vat.rb"],"removed":[]}],"total_commits_count":1,"repository":{"name":"Billing","url":"git@gitlab.example.com:acme/billing.git","homepage":"https://gitlab.example.com/acme/billing","visibility_level":0}}"##,
            id: "5f0c7a2e-3b1d-4e8f-9a6c-2d4b8e1f3a70",
            expectedKey: "acme/billing"
        ),
        WebhookSample(
            provider: "gitlab",
            event: "merge_request",
            body: ##"{"object_kind":"merge_request","event_type":"merge_request","user":{"id":4,"name":"John Smith","username":"jsmith","avatar_url":"https://gitlab.example.com/uploads/-/system/user/avatar/4/avatar.png"},"project":{"id":15,"name":"Billing","web_url":"https://gitlab.example.com/acme/billing","namespace":"Acme","path_with_namespace":"acme/billing","default_branch":"main"},"object_attributes":{"id":9912,"iid":128,"title":"Round VAT per line, not per invoice","description":"Fixes one-cent differences on invoices with many lines.","state":"opened","action":"open","merge_status":"checking","source_branch":"vat-per-line","target_branch":"main","source_project_id":15,"target_project_id":15,"author_id":4,"created_at":"2024-05-14 07:46:02 UTC","updated_at":"2024-05-14 07:46:02 UTC","last_commit":{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"Round VAT per line, not per invoice\n","timestamp":"2024-05-14T09:44:19+02:00"},"url":"https://gitlab.example.com/acme/billing/-/merge_requests/128","work_in_progress":false,"draft":false},"labels":[{"id":206,"title":"billing","color":"#1f75cb","type":"ProjectLabel"}],"changes":{},"repository":{"name":"Billing","url":"git@gitlab.example.com:acme/billing.git","homepage":"https://gitlab.example.com/acme/billing"}}"##,
            id: "a9e3d6b1-7c2f-4f05-8b3e-6c1d0f9a2e54",
            expectedKey: "acme/billing"
        ),
    ]
}
