import Crypto
import FoundationEssentials
import HTTPTypes

/// The Standard Webhooks signature scheme (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`), shared by the `standard-webhooks` provider and GitLab's signing tokens.
///
/// The signed content is `<id>.<timestamp>.<body>`. `webhook-signature` is a space-separated list of
/// `v1,<base64 HMAC-SHA256>` (keyed by the base64-decoded `whsec_` secret) and
/// `v1a,<base64 Ed25519>` (checked against `whpk_` public keys); one valid entry suffices.
///
/// With `svixHeaders`, the same three headers are also read as Svix names them by default
/// (`svix-id`, `svix-timestamp`, `svix-signature`; only its white-labelled senders use the
/// `webhook-` names). A delivery carrying both spellings of one header with different values is
/// refused, as is any repeated header.
///
/// A header listing more than ``maxSignatures`` entries is refused unchecked: an Ed25519 check
/// costs about 75 µs here, so an unauthenticated request filling the 80 KB header limit with
/// `v1a` entries would otherwise cost the gateway some 65 ms of CPU (measured).
struct StandardWebhooksScheme: Sendable {
    /// Senders list one signature per active secret or key, two or three during a rotation.
    static let maxSignatures = 10

    static let idHeader = HTTPField.Name("webhook-id")!
    static let timestampHeader = HTTPField.Name("webhook-timestamp")!
    static let signatureHeader = HTTPField.Name("webhook-signature")!
    static let svixIDHeader = HTTPField.Name("svix-id")!
    static let svixTimestampHeader = HTTPField.Name("svix-timestamp")!
    static let svixSignatureHeader = HTTPField.Name("svix-signature")!

    let hmacKeys: HMACKeys<SHA256>
    let publicKeys: [Curve25519.Signing.PublicKey]
    let tolerance: Int64
    let svixHeaders: Bool

    init(
        secrets: [String],
        publicKeys: [String],
        tolerance: Int64,
        svixHeaders: Bool = false,
        provider: String,
        setting: String
    ) throws(WebhookConfigurationError) {
        var keys: [SymmetricKey] = []
        for secret in secrets {
            keys.append(try SigningKeys.standardSecret(secret, provider: provider, setting: setting))
        }
        var decoded: [Curve25519.Signing.PublicKey] = []
        for publicKey in publicKeys {
            let bytes = publicKey.hasPrefix("whpk_") ? Base64.decode(publicKey.utf8.dropFirst(5).asSubstring) : nil
            decoded.append(try SigningKeys.ed25519PublicKey(bytes, provider: provider, what: "whpk_ followed by the base64"))
        }
        self.hmacKeys = HMACKeys(keys: keys)
        self.publicKeys = decoded
        self.tolerance = tolerance
        self.svixHeaders = svixHeaders
    }

    /// The header's value under its Standard Webhooks name, or its Svix one when accepted.
    private func value(_ name: HTTPField.Name, svix: HTTPField.Name, in headers: HTTPFields, signature: Bool = false) throws(WebhookError) -> String? {
        let value = self.svixHeaders ? try headers.uniqueValue(name, or: svix, signature: signature) : try headers.uniqueValue(name, signature: signature)
        return value?.isEmpty == false ? value : nil
    }

    /// Verifies the request and returns its `webhook-id`.
    func verify(_ request: WebhookRequest) throws(WebhookError) -> String {
        let headers = request.headerFields
        guard let signatures = try self.value(Self.signatureHeader, svix: Self.svixSignatureHeader, in: headers, signature: true) else {
            throw .missingSignature(Self.signatureHeader)
        }
        guard let id = try self.value(Self.idHeader, svix: Self.svixIDHeader, in: headers) else { throw .missingHeader(Self.idHeader) }
        guard let timestampText = try self.value(Self.timestampHeader, svix: Self.svixTimestampHeader, in: headers) else {
            throw .missingHeader(Self.timestampHeader)
        }
        guard let timestamp = Timestamp.parse(timestampText) else { throw .malformedHeader(Self.timestampHeader) }
        try Timestamp.check(timestamp, now: request.now, tolerance: self.tolerance)

        let entries = signatures.headerItems(separatedBy: UInt8(ascii: " "))
        guard entries.count <= Self.maxSignatures else {
            throw .tooManySignatures(Self.signatureHeader, limit: Self.maxSignatures)
        }
        var symmetric: [[UInt8]] = []
        var asymmetric: [[UInt8]] = []
        for entry in entries {
            if entry.hasPrefix("v1,") {
                if let bytes = Base64.decode(entry.dropFirst(3)) { symmetric.append(bytes) }
            } else if entry.hasPrefix("v1a,") {
                // An Ed25519 signature is 64 bytes; anything else is not worth a check.
                if let bytes = Base64.decode(entry.dropFirst(4)), bytes.count == 64 { asymmetric.append(bytes) }
            }
        }
        guard !symmetric.isEmpty || !asymmetric.isEmpty else { throw .malformedSignature(Self.signatureHeader) }

        if !symmetric.isEmpty,
            self.hmacKeys.authenticates(symmetric, { hmac in
                hmac.update(utf8: id)
                hmac.update(utf8: ".")
                hmac.update(utf8: timestampText)
                hmac.update(utf8: ".")
                hmac.update(bytes: request.body)
            })
        {
            return id
        }
        if !asymmetric.isEmpty, !self.publicKeys.isEmpty {
            let content = Self.content(id: id, timestamp: timestampText, body: request.body)
            for key in self.publicKeys {
                for signature in asymmetric where key.isValidSignature(signature, for: content) {
                    return id
                }
            }
        }
        throw .badSignature(Self.signatureHeader)
    }

    static func content(id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        var content: [UInt8] = []
        content.reserveCapacity(id.utf8.count + timestamp.utf8.count + body.count + 2)
        content.append(contentsOf: id.utf8)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: timestamp.utf8)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: body)
        return content
    }

    /// The three headers for a delivery, signed with a `whsec_` secret (`v1`), a `whsk_` private key
    /// (`v1a`), or both.
    static func sign(
        secret: String?,
        privateKey: String?,
        id: String,
        timestamp: Int64,
        body: [UInt8],
        provider: String
    ) throws(WebhookConfigurationError) -> HTTPFields {
        let timestampText = String(timestamp)
        let content = self.content(id: id, timestamp: timestampText, body: body)
        var entries: [String] = []
        if let secret {
            let key = try SigningKeys.standardSecret(secret, provider: provider)
            entries.append("v1," + Base64.encode(Array(HMAC<SHA256>.authenticationCode(for: content, using: key))))
        }
        if let privateKey {
            let bytes = privateKey.hasPrefix("whsk_") ? Base64.decode(privateKey.utf8.dropFirst(5).asSubstring) : nil
            let key = try SigningKeys.ed25519PrivateKey(bytes, provider: provider, what: "whsk_ followed by the base64")
            entries.append("v1a," + Base64.encode(try SigningKeys.ed25519Sign(content, with: key, provider: provider)))
        }
        guard !entries.isEmpty else {
            throw WebhookConfigurationError(provider: provider, message: "Signing needs a whsec_ secret or a whsk_ private key.")
        }
        var headers = HTTPFields()
        headers[self.idHeader] = id
        headers[self.timestampHeader] = timestampText
        headers[self.signatureHeader] = entries.joined(separator: " ")
        return headers
    }
}
