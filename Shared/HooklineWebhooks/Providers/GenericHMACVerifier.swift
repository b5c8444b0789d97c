import Crypto
import HTTPTypes

/// The generic `hmac-sha256` provider (the classic Express endpoint): the hex HMAC-SHA256 of the
/// body in ``ProviderConfiguration/signatureHeader`` (default `X-Signature`), after an optional
/// ``ProviderConfiguration/signaturePrefix``. Event from ``ProviderConfiguration/eventTypeHeader``
/// or ``ProviderConfiguration/eventTypeJSONPointer`` (with both set, they must agree), else
/// `unknown`; id from ``ProviderConfiguration/idHeader`` (required when set) or a random UUID;
/// key from ``ProviderConfiguration/keyJSONPointer``.
public struct GenericHMACVerifier: WebhookVerifier {
    public static let provider = "hmac-sha256"
    public static let settings: Set<ProviderSetting> = [.secrets, .signatureHeader, .signaturePrefix, .eventTypeHeader, .eventTypeJSONPointer, .idHeader, .keyJSONPointer]

    let keys: HMACKeys<SHA256>
    let signatureHeader: HTTPField.Name
    let prefix: String
    let eventHeader: HTTPField.Name?
    let eventPointer: JSONPointer?
    let idHeader: HTTPField.Name?
    let keyPointer: JSONPointer?

    public var deliveryIDHeaders: [HTTPField.Name] { self.idHeader.map { [$0] } ?? [] }

    /// The header; with `event_type_json_pointer` too, the signed body must agree with it, but
    /// only where the body has a value there.
    public var unsignedEventSource: String? {
        guard let header = self.eventHeader else { return nil }
        return self.eventPointer == nil ? "the \(header) header" : "the \(header) header where the signed body has nothing at event_type_json_pointer"
    }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets.")
        }
        self.keys = HMACKeys(secrets: configuration.secrets)
        self.signatureHeader = try Self.header(configuration.signatureHeader ?? "X-Signature", "signature_header")!
        self.prefix = configuration.signaturePrefix ?? ""
        self.eventHeader = try Self.header(configuration.eventTypeHeader, "event_type_header")
        self.eventPointer = try Self.pointer(configuration.eventTypeJSONPointer, "event_type_json_pointer")
        self.idHeader = try Self.header(configuration.idHeader, "id_header")
        self.keyPointer = try Self.pointer(configuration.keyJSONPointer, "key_json_pointer")
    }

    static func header(_ name: String?, _ setting: String) throws(WebhookConfigurationError) -> HTTPField.Name? {
        guard let name else { return nil }
        return try HTTPField.Name.configured(name, setting: setting, provider: self.provider)
    }

    static func pointer(_ text: String?, _ setting: String) throws(WebhookConfigurationError) -> JSONPointer? {
        guard let text else { return nil }
        guard let pointer = JSONPointer(text) else {
            throw WebhookConfigurationError(provider: self.provider, message: "\(setting) '\(text)' is not a JSON pointer (RFC 6901).")
        }
        return pointer
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signature = try headers.signature(self.signatureHeader)
        guard signature.hasPrefix(self.prefix), let code = Hex.decode(signature.dropFirst(self.prefix.count)) else {
            throw .malformedSignature(self.signatureHeader)
        }
        guard self.keys.authenticates(code, { $0.update(bytes: request.body) }) else {
            throw .badSignature(self.signatureHeader)
        }
        // A body read for its event or key must be whole: a document cut short is not routed.
        if self.eventPointer != nil || self.keyPointer != nil, !JSONScanner.isWellFormed(request.body) {
            throw .malformedBody("a JSON document")
        }
        let headerEvent = try self.eventHeader.flatMap { (name) throws(WebhookError) in try headers.optional(name) }
        let bodyEvent = self.eventPointer.flatMap { JSONScanner.value(at: $0, in: request.body)?.text }
        // Compared as the topic name spells them: `New_Order` and `new_order` are one event.
        if let headerEvent, let bodyEvent, WebhookTopic.eventName(headerEvent) != WebhookTopic.eventName(bodyEvent), let eventHeader = self.eventHeader {
            throw .eventMismatch(eventHeader, "event_type_json_pointer")
        }
        let event = headerEvent ?? bodyEvent
        let id = try self.idHeader.map { (name) throws(WebhookError) in try headers.required(name) } ?? DeliveryID.random()
        let key = self.keyPointer.flatMap { JSONScanner.value(at: $0, in: request.body)?.text }
        return VerifiedWebhook(provider: Self.provider, event: event, id: id, key: key)
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider).utf8)
        let configuration = message.configuration
        var headers = HTTPFields()
        let signatureHeader = try self.header(configuration.signatureHeader ?? "X-Signature", "signature_header")!
        headers[signatureHeader] = (configuration.signaturePrefix ?? "") + Hex.encode(HMACKeys<SHA256>.code(secret: secret) { $0.update(bytes: message.body) })
        if let eventHeader = try self.header(configuration.eventTypeHeader, "event_type_header"), let event = message.event {
            headers[eventHeader] = event
        }
        if let idHeader = try self.header(configuration.idHeader, "id_header") {
            headers[idHeader] = message.id ?? DeliveryID.random()
        }
        headers[.contentType] = "application/json"
        return SignedWebhook(headerFields: headers, url: message.url)
    }
}

// MARK: - Samples

extension GenericHMACVerifier {
    /// The configuration the generic samples assume: `X-Signature: sha256=<hex>`, the event in the
    /// body's `event_type`, the id in `X-Webhook-Id`, and events of one order keyed together by
    /// `order_id`.
    static let genericHMACConfiguration = ProviderConfiguration(
        signatureHeader: "X-Signature",
        signaturePrefix: "sha256=",
        eventTypeJSONPointer: "/event_type",
        idHeader: "X-Webhook-Id",
        keyJSONPointer: "/order_id"
    )

    /// A shop backend's own webhooks (`hmac-sha256`): `new_order` and `payment_success` for order
    /// `ord_1001`, keyed by `order_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "hmac-sha256",
            event: "new_order",
            body: #"{"event_type":"new_order","event_id":"evt_5001","created_at":"2024-05-14T09:26:35Z","order_id":"ord_1001","shop_order_id":820982911946154508,"status":"pending","total":"49.90","subtotal":"41.93","tax":"7.97","currency":"EUR","customer":{"id":"cust_7Pq2Rk9Vm4","email":"jon@example.com","name":"Jon Snow"},"items":[{"sku":"HOOK-TEE-M","name":"Hookline T-Shirt (M)","quantity":2,"unit_price":"24.95"}],"shipping":{"method":"dhl_express","address":{"line1":"Invalidenstraße 117","city":"Berlin","postal_code":"10115","country":"DE"}}}"#,
            id: "whd_01HXR6Q2K8M4N7P9S3T5V7X9Z1",
            configuration: genericHMACConfiguration,
            expectedKey: "ord_1001"
        ),
        WebhookSample(
            provider: "hmac-sha256",
            event: "payment_success",
            body: #"{"event_type":"payment_success","event_id":"evt_5002","created_at":"2024-05-14T09:26:51Z","payment_id":"pay_2001","order_id":"ord_1001","amount":"49.90","currency":"EUR","method":"card","card":{"brand":"visa","last4":"4242"},"provider":"stripe","provider_reference":"pi_3PGq7uLkdIwHu7ix1Qm4Rz8D","customer":{"id":"cust_7Pq2Rk9Vm4","email":"jon@example.com"},"captured_at":"2024-05-14T09:26:50Z"}"#,
            id: "whd_01HXR6QJ3B5D7F9H1K3M5P7R9T",
            configuration: genericHMACConfiguration,
            expectedKey: "ord_1001"
        ),
    ]
}
