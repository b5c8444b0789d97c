import HTTPTypes

/// The routing facts of an authenticated delivery.
public struct VerifiedWebhook: Sendable, Hashable {
    /// A Kafka header to add to the published record beside the standard ones.
    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The provider's event type, normalised by the provider (GitLab `Merge Request Hook` →
    /// `merge_request`, Shopify `orders/create` → `orders.create`, …), then spelled as topic names
    /// spell it (``WebhookTopic/eventName(_:)``: `Order/Created` → `order.created`). Never empty:
    /// `unknown` when the delivery names none.
    public var event: String

    /// The delivery or event id, for deduplication.
    public var id: String

    /// The entity key used to order related events in Kafka, or `nil` to key by ``id``.
    public var key: String?

    /// The CloudEvents type: `<provider>.<event>`.
    public var ceType: String

    /// Extra Kafka headers (for example Shopify's event id and webhook id).
    public var headers: [Header]

    /// Whether the gateway publishes the delivery. `false` for handshakes that are only answered
    /// (Slack `url_verification`, Discord PING).
    public var publish: Bool

    /// What the gateway answers instead of its default acknowledgement, if anything.
    public var reply: WebhookReply?

    public init(
        provider: String,
        event: String?,
        id: String,
        key: String? = nil,
        headers: [Header] = [],
        publish: Bool = true,
        reply: WebhookReply? = nil
    ) {
        // A delivery whose event is missing is still published, to `<prefix>.<source>.unknown`.
        // The event is spelled as in the topic name, so `ce_type` and the topic always agree.
        let event = event.flatMap { $0.isEmpty ? nil : WebhookTopic.eventName($0) } ?? WebhookTopic.unknownEvent
        self.event = event
        self.id = id
        self.key = key
        self.ceType = provider + "." + event
        self.headers = headers
        self.publish = publish
        self.reply = reply
    }
}

/// An HTTP response the gateway sends for a delivery.
public struct WebhookReply: Sendable, Hashable {
    public var status: HTTPResponse.Status
    /// `Content-Type` of ``body``; `nil` when the body is empty.
    public var contentType: String?
    public var body: [UInt8]

    public init(status: HTTPResponse.Status = .ok, contentType: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// `200` with a JSON body.
    public static func json(_ body: String) -> WebhookReply {
        WebhookReply(contentType: "application/json", body: Array(body.utf8))
    }

    /// Twilio's empty TwiML document: nothing more to do.
    public static let emptyTwiML = WebhookReply(contentType: "text/xml", body: Array("<Response/>".utf8))

    /// `204` with no body.
    public static let noContent = WebhookReply(status: .noContent, contentType: nil, body: [])

    /// `200` with no body: Slack's bare acknowledgement, which posts nothing and changes no view.
    public static let emptyOK = WebhookReply(status: .ok, contentType: nil, body: [])
}
