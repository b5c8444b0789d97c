import HTTPTypes

/// One incoming webhook delivery, exactly as received.
///
/// Verifiers authenticate ``body`` byte for byte, so the gateway must pass the raw request body,
/// never a re-encoded one.
public struct WebhookRequest: Sendable {
    /// The request's header fields. Names compare case-insensitively.
    public var headerFields: HTTPFields

    /// The raw request body.
    public var body: [UInt8]

    /// The full public URL the provider called (scheme, host, path and query), for schemes that sign
    /// the URL (Twilio, Square).
    ///
    /// Default: `nil`, meaning ``ProviderConfiguration/publicURL``. Twilio's JSON deliveries carry a
    /// per-request `bodySHA256` query parameter, so the gateway should pass the configured public URL
    /// with the request's own query appended.
    public var url: String?

    /// The current time in Unix seconds, used for timestamp tolerance. Tests pin it.
    public var now: Int64

    public init(headerFields: HTTPFields, body: [UInt8], url: String? = nil, now: Int64) {
        self.headerFields = headerFields
        self.body = body
        self.url = url
        self.now = now
    }
}

extension WebhookRequest {
    /// Refuses (400 `malformed_body`) a body that is not one whole JSON object: what a provider
    /// that reads its routing facts from the body checks first, since ``JSONScanner`` reads a
    /// field before the point where a body cut short breaks.
    func requireJSONObjectBody() throws(WebhookError) {
        guard JSONScanner.isObject(self.body) else { throw .malformedBody("a JSON object") }
    }
}
