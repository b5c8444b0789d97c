import Crypto
import FoundationEssentials
import HTTPTypes

/// Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 keyed by the auth token over the public URL
/// followed, for form bodies, by every POST parameter sorted by name, name then value. JSON bodies
/// are signed through the URL alone, whose `bodySHA256` query parameter must be the hex SHA-256 of
/// the body. When `X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256` (Webhook
/// Settings with a shared key) the HMAC is HMAC-SHA256. Like Twilio's SDKs, the URL is also tried with its default
/// port added or removed.
///
/// Event `message.<MessageStatus|SmsStatus>` or `call.<CallStatus>`, lowercased; id
/// `I-Twilio-Idempotency-Token`, else `<sid>.<status>` (a message's successive status callbacks
/// share its sid); key the Message/Sms/Call sid. Event Streams' webhook sinks post CloudEvents
/// (one, or a batch as an array): the event is their `type` without `com.twilio.`
/// (`messaging.message.delivered`; a batch of several types is `unknown`), the id the token, else
/// the (first) event's `id`, the key its `data.messageSid` or `data.callSid`. Answered with an
/// empty TwiML `<Response/>`.
public struct TwilioVerifier: WebhookVerifier {
    public static let provider = "twilio"
    public static let settings: Set<ProviderSetting> = [.secrets, .publicURL]

    static let signatureHeader = HTTPField.Name("X-Twilio-Signature")!
    static let settingsHeader = HTTPField.Name("X-Twilio-Webhooks-Signature-Settings")!
    static let idempotencyHeader = HTTPField.Name("I-Twilio-Idempotency-Token")!
    /// Twilio's callbacks carry a few dozen parameters (each media item of an incoming message
    /// adds two); a form of more is refused before its parameters are decoded and sorted.
    static let maxParameters = 1_000
    /// …and a form of more bytes: a Conversations message body may be 32 KB, and attributes 4 KB
    /// more, which percent-encoding of non-ASCII text triples. A thousand parameters alike up to
    /// their last bytes cost some ten million byte comparisons to sort in a megabyte, and at most
    /// a quarter of that within this.
    static let maxFormBytes = 262_144

    let sha1: HMACKeys<Insecure.SHA1>
    let sha256: HMACKeys<SHA256>
    let publicURL: String

    public var deliveryIDHeaders: [HTTPField.Name] { [Self.idempotencyHeader] }

    /// The signature covers the form's names and values run together: a captured delivery can be
    /// split again into another form, with another status, under the same signature.
    public var unsignedEventSource: String? { "form parameters the signature does not delimit" }

    public init(configuration: ProviderConfiguration) throws(WebhookConfigurationError) {
        guard !configuration.secrets.isEmpty else {
            throw WebhookConfigurationError(provider: Self.provider, message: "Needs at least one entry in secrets (auth tokens or shared keys).")
        }
        self.sha1 = HMACKeys(secrets: configuration.secrets)
        self.sha256 = HMACKeys(secrets: configuration.secrets)
        self.publicURL = try configuration.requirePublicURL(provider: Self.provider)
    }

    /// Whether `X-Twilio-Webhooks-Signature-Settings` (`key=<name>,algorithm=HMAC_SHA256`) asks
    /// for HMAC-SHA256: by its `algorithm` alone, since the key's name is the user's to choose. No
    /// header, or no `algorithm` in it, is HMAC-SHA1; an algorithm Twilio does not name is refused.
    static func usesSHA256(_ settings: String?) throws(WebhookError) -> Bool {
        guard let settings else { return false }
        for entry in settings.headerItems(separatedBy: UInt8(ascii: ",")) {
            // Entries are short; a long one (the header is unauthenticated) is not worth a look.
            guard entry.utf8.count <= 64, let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            guard entry[..<equals].filter({ !$0.isWhitespace }).lowercased() == "algorithm" else { continue }
            switch entry[equals...].dropFirst().filter({ !$0.isWhitespace }).uppercased() {
            case "HMAC_SHA256", "HMAC-SHA256": return true
            case "HMAC_SHA1", "HMAC-SHA1": return false
            default: throw .malformedHeader(Self.settingsHeader)
            }
        }
        return false
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) -> VerifiedWebhook {
        let headers = request.headerFields
        let signature = try headers.signature(Self.signatureHeader)
        guard let code = Base64.decode(signature) else { throw .malformedSignature(Self.signatureHeader) }
        let url = request.url ?? self.publicURL
        let useSHA256 = try Self.usesSHA256(headers.optional(Self.settingsHeader))

        let parameters: [FormBody.Pair]
        if let bodyHash = Self.queryValue("bodySHA256", in: url) {
            // A JSON (or other non-form) body, bound to the signature through the URL.
            guard bodyHash.lowercased() == Hex.encode(SHA256.hash(data: request.body)) else {
                throw .badSignature(Self.signatureHeader)
            }
            parameters = []
        } else {
            // Twilio signs the sorted parameters, so they are decoded and sorted before anything is
            // known about the sender: a forged 1 MB form of 115,912 parameters cost 140 ms of CPU.
            guard request.body.count <= Self.maxFormBytes, !FormBody.hasMoreParameters(than: Self.maxParameters, in: request.body) else {
                throw .malformedBody("a form of at most \(Self.maxParameters) parameters and \(Self.maxFormBytes) bytes")
            }
            parameters = Self.signed(FormBody.parse(request.body))
        }
        var valid = false
        for candidate in [url, Self.portVariant(of: url)] {
            guard let candidate else { continue }
            let feed = { (hmac: inout HMAC<SHA256>) in Self.feed(url: candidate, parameters, into: &hmac) }
            let feed1 = { (hmac: inout HMAC<Insecure.SHA1>) in Self.feed(url: candidate, parameters, into: &hmac) }
            valid = useSHA256 ? self.sha256.authenticates(code, feed) : self.sha1.authenticates(code, feed1)
            if valid { break }
        }
        guard valid else { throw .badSignature(Self.signatureHeader) }

        var fields = parameters
        if fields.isEmpty, !FormBody.looksLikeForm(request.body) {
            fields = Self.jsonFields(request.body)
        }
        let messageStatus = fields.first("MessageStatus") ?? fields.first("SmsStatus")
        let callStatus = fields.first("CallStatus")
        var sid = fields.first("MessageSid") ?? fields.first("SmsSid") ?? fields.first("CallSid")
        let event: String
        var id: String?
        if let messageStatus {
            event = "message." + messageStatus.lowercased()
            id = sid.map { $0 + "." + messageStatus.lowercased() }
        } else if let callStatus {
            event = "call." + callStatus.lowercased()
            id = sid.map { $0 + "." + callStatus.lowercased() }
        } else if parameters.isEmpty, let events = StreamEvent.decode(request.body) {
            let types = Set(events.map(\.type))
            event = types.count == 1 ? StreamEvent.eventName(events[0].type) : "unknown"
            id = events[0].id
            sid = events[0].data?.messageSid ?? events[0].data?.callSid
        } else {
            event = "unknown"
            id = sid
        }
        let token = try headers.optional(Self.idempotencyHeader)
        return VerifiedWebhook(provider: Self.provider, event: event, id: token ?? id ?? DeliveryID.random(), key: sid, reply: .emptyTwiML)
    }

    /// The part of an Event Streams CloudEvent routing needs. Decoded only from a body whose
    /// signature has been checked, and only when it carries no status callback's fields.
    struct StreamEvent: Decodable {
        var specversion: String
        var type: String
        var id: String
        var data: Payload?

        struct Payload: Decodable {
            var messageSid: String?
            var callSid: String?
        }

        /// One CloudEvent, or a batch of them (an array), else nil.
        static func decode(_ body: [UInt8]) -> [StreamEvent]? {
            let decoder = JSONDecoder()
            if let batch = try? decoder.decode([StreamEvent].self, from: Data(body)), !batch.isEmpty { return batch }
            if let event = try? decoder.decode(StreamEvent.self, from: Data(body)) { return [event] }
            return nil
        }

        /// `com.twilio.messaging.message.delivered` → `messaging.message.delivered`.
        static func eventName(_ type: String) -> String {
            type.hasPrefix("com.twilio.") ? String(type.dropFirst("com.twilio.".count)) : type
        }
    }

    static func feed<H: HashFunction>(url: String, _ parameters: [FormBody.Pair], into hmac: inout HMAC<H>) {
        hmac.update(utf8: url)
        for parameter in parameters {
            hmac.update(utf8: parameter.name)
            hmac.update(utf8: parameter.value)
        }
    }

    /// The parameters as Twilio signs them: sorted by name, then value, and a pair repeated with
    /// the same value counted once (as its SDKs do: `sorted(set(values))`).
    static func signed(_ pairs: [FormBody.Pair]) -> [FormBody.Pair] {
        var signed = pairs.sorted { lhs, rhs in
            if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        var previous: FormBody.Pair?
        signed.removeAll { pair in
            defer { previous = pair }
            return previous == pair
        }
        return signed
    }

    /// The top-level fields the event and id come from, when a JSON body carries them.
    static func jsonFields(_ body: [UInt8]) -> [FormBody.Pair] {
        ["MessageStatus", "SmsStatus", "CallStatus", "MessageSid", "SmsSid", "CallSid"].compactMap { name in
            JSONScanner.value(at: JSONPointer(members: name), in: body)?.string.map { FormBody.Pair(name: name, value: $0) }
        }
    }

    /// The raw value of query parameter `name` in `url`.
    static func queryValue(_ name: String, in url: String) -> String? {
        guard let question = url.firstIndex(of: "?") else { return nil }
        var query = url[url.index(after: question)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        for item in query.split(separator: "&") where item.hasPrefix(name + "=") {
            return String(item.dropFirst(name.count + 1))
        }
        return nil
    }

    /// `url` with its port removed if it has one, else with the scheme's default port added.
    static func portVariant(of url: String) -> String? {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        let scheme = url[..<colon].lowercased()
        let authorityStart = url.index(colon, offsetBy: 3)
        let authorityEnd = url[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        // The port follows the host, which follows any `user:password@`.
        let hostStart = authority.lastIndex(of: "@").map(authority.index(after:)) ?? authority.startIndex
        let hostEnd = authority[hostStart...].lastIndex(of: "]") ?? hostStart
        if let portColon = authority[hostEnd...].lastIndex(of: ":") {
            return String(url[..<portColon]) + String(url[authorityEnd...])
        }
        let port: String
        switch scheme {
        case "https": port = ":443"
        case "http": port = ":80"
        default: return nil
        }
        return String(url[..<authorityEnd]) + port + String(url[authorityEnd...])
    }

    public static func sign(_ message: WebhookSigningInput) throws(WebhookConfigurationError) -> SignedWebhook {
        let secret = Array(try SigningKeys.require(message.secret, provider: self.provider, "auth token").utf8)
        guard var url = message.url ?? message.configuration.publicURL else {
            throw WebhookConfigurationError(provider: self.provider, message: "Signing needs the public URL.")
        }
        var headers = HTTPFields()
        let parameters: [FormBody.Pair]
        if FormBody.looksLikeForm(message.body) {
            parameters = self.signed(FormBody.parse(message.body))
            headers[.contentType] = "application/x-www-form-urlencoded"
        } else {
            url += (url.contains("?") ? "&" : "?") + "bodySHA256=" + Hex.encode(SHA256.hash(data: message.body))
            parameters = []
            headers[.contentType] = "application/json"
        }
        let code = HMACKeys<Insecure.SHA1>.code(secret: secret) { self.feed(url: url, parameters, into: &$0) }
        headers[self.signatureHeader] = Base64.encode(code)
        headers[self.idempotencyHeader] = message.id ?? DeliveryID.random()
        return SignedWebhook(headerFields: headers, url: url)
    }
}

// MARK: - Samples

extension TwilioVerifier {
    /// The public URL the Twilio samples are signed for.
    static let twilioURL = "https://hooks.example.com/hooks/twilio"

    /// Twilio status callbacks (form bodies, signed together with ``twilioURL``): an SMS reaching
    /// `delivered` and a call `completed`; and an Event Streams delivery. The event is `message.<MessageStatus>` or
    /// `call.<CallStatus>`; the id travels in `I-Twilio-Idempotency-Token`; the key is the sid.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "twilio",
            event: "message.delivered",
            body: #"ToCountry=DE&ToState=&SmsMessageSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&NumMedia=0&ToCity=&FromZip=&SmsSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&FromState=&SmsStatus=delivered&FromCity=&Body=Your+order+%231001+has+shipped.+Track+it+at+https%3A%2F%2Fshop.example.com%2Ft%2F1Z2345&FromCountry=US&To=%2B4915112345678&MessagingServiceSid=MG9d3e7b2a4c6f8e0a1b3d5f7a9c1e3b5d&ToZip=&NumSegments=1&MessageSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&AccountSid=AC8f1e2d3c4b5a69788796a5b4c3d2e1f0&From=%2B15017122661&MessageStatus=delivered&ApiVersion=2010-04-01&RawDlrDoneDate=2405141128"#,
            id: "0d3c9a7e5b1f4a2c8e6d0b9a7c5e3f1a-delivered",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b"
        ),
        WebhookSample(
            provider: "twilio",
            event: "call.completed",
            body: #"Called=%2B4930901820&ToState=&CallerCountry=US&Direction=outbound-api&Timestamp=Tue%2C+14+May+2024+09%3A31%3A44+%2B0000&CallbackSource=call-progress-events&SipResponseCode=200&CallerState=CA&ToZip=&SequenceNumber=3&CallSid=CA5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b&To=%2B4930901820&CallerZip=94105&ToCountry=DE&CalledZip=&ApiVersion=2010-04-01&CalledCity=&CallStatus=completed&Duration=2&From=%2B15017122661&CallDuration=87&AccountSid=AC8f1e2d3c4b5a69788796a5b4c3d2e1f0&CalledCountry=DE&CallerCity=SAN+FRANCISCO&ToCity=&FromCountry=US&Caller=%2B15017122661&FromCity=SAN+FRANCISCO&CalledState=&FromZip=94105&FromState=CA"#,
            id: "7a1c3e5f9b2d4f6a8c0e1b3d5f7a9c2e-completed",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "CA5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b"
        ),
        // An Event Streams webhook sink's batch of one CloudEvent (JSON, signed through the URL's
        // bodySHA256): the event is its type without `com.twilio.`.
        WebhookSample(
            provider: "twilio",
            event: "messaging.message.delivered",
            body: #"[{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/AC8f1e2d3c4b5a69788796a5b4c3d2e1f0/Messages/SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b.json","id":"EZ1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c","dataschema":"https://events-schemas.twilio.com/Messaging.MessageStatus/2","datacontenttype":"application/json","time":"2024-05-14T11:28:03.000Z","data":{"accountSid":"AC8f1e2d3c4b5a69788796a5b4c3d2e1f0","messageSid":"SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b","messagingServiceSid":"MG9d3e7b2a4c6f8e0a1b3d5f7a9c1e3b5d","messageStatus":"DELIVERED","to":"+4915112345678","from":"+15017122661","eventName":"com.twilio.messaging.message.delivered","timestamp":"2024-05-14T11:28:03.000Z"}}]"#,
            id: "2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b-delivered",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b"
        ),
    ]
}
