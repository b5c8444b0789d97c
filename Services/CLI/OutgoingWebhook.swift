import Foundation
import HTTPTypes
import HooklineConfig
import HooklineWebhooks

/// One delivery `hookline send` is about to make: a body, and the headers and URL its provider
/// would send it with.
struct OutgoingWebhook {
    /// Where the delivery goes, with any query the scheme adds (Twilio's `bodySHA256`).
    var url: String
    var headerFields: HTTPFields
    var body: [UInt8]
    /// The delivery id as sent: the header id (fresh, `--id` or the sample's), or the id put in
    /// a sample's body. `nil` when no header carries one and the body is a `--file` body,
    /// whose id (Stripe, Slack, …) is the user's.
    var id: String?
    /// The signing time, Unix seconds.
    var timestamp: Int64

    /// What signs a delivery for one source.
    struct Signer {
        /// The provider name, such as `github`.
        var provider: String
        /// The source's non-secret settings (public URL, generic header names).
        var configuration: ProviderConfiguration
        var secret: String?
        var privateKey: String?
        var signingToken: String?
    }

    /// Signs `body` (or the sample, when `body` is nil) as the provider would.
    ///
    /// - Parameters:
    ///   - sample: The sample for the event; required without `body`, else it only lends its
    ///     entity key (Shopify's shop domain).
    ///   - event: The event, for providers that send it in a header.
    ///   - id: The delivery id; default a fresh one for providers that send it in a header.
    ///   - keepID: Send a sample's own ids instead of fresh ones.
    ///   - postURL: Where to post; also what is signed unless the source has a public URL.
    static func make(
        signer: Signer,
        sample: WebhookSample?,
        body: [UInt8]?,
        event: String,
        id: String?,
        keepID: Bool,
        postURL: String,
        timestamp: Int64
    ) throws(CLIError) -> OutgoingWebhook {
        var payload: [UInt8]
        var deliveryID: String?
        var headerID: String?
        if let body {
            payload = body
            headerID = id ?? Self.freshHeaderID(provider: signer.provider)
            deliveryID = headerID
        } else if let sample {
            payload = sample.body(at: timestamp)
            if sample.id != nil {
                // The id travels in a header: a fresh one per send, so repeated sends are new deliveries.
                headerID = id ?? (keepID ? sample.id : Self.freshHeaderID(provider: signer.provider))
                deliveryID = headerID
            } else if keepID {
                deliveryID = sample.expectedID
            } else {
                // The id is inside the body (Stripe, Slack, Discord, Square, Paddle, Intercom): give it a
                // fresh value of the same shape.
                let fresh = id ?? Self.reshaped(sample.expectedID)
                payload = Self.replacing(sample.expectedID, with: fresh, in: payload)
                deliveryID = fresh
            }
        } else {
            throw .failed("nothing to send: give a sample event or --file")
        }
        // The URL the gateway checks a Twilio signature against: the source's public_url with the
        // query of the request as it arrives, else the URL posted to.
        let postQuery = postURL.firstIndex(of: "?").map { postURL[postURL.index(after: $0)...] }
        let signedFor = signer.configuration.publicURL.map { url in postQuery.map { "\(url)?\($0)" } ?? url } ?? postURL
        let signed: SignedWebhook
        do {
            signed = try WebhookProviders.sign(
                provider: signer.provider,
                WebhookSigningInput(
                    secret: signer.secret,
                    privateKey: signer.privateKey,
                    signingToken: signer.signingToken,
                    body: payload,
                    event: event,
                    id: headerID,
                    key: sample?.key,
                    timestamp: timestamp,
                    url: signedFor,
                    configuration: signer.configuration
                )
            )
        } catch {
            // A provider that takes no secret signs with a private key (Discord's Ed25519 seed).
            let signsWithSecrets = WebhookProviders.provider(named: signer.provider)?.settings.contains(.secrets) ?? true
            let hint = signsWithSecrets ? " Pass --secret, or --config with this source in sources:." : " Pass --private-key with the application's Ed25519 seed (hex)."
            throw .configuration("cannot sign as \(signer.provider): \(error.message)" + (signer.secret == nil && signer.privateKey == nil ? hint : ""))
        }
        if let headerID, deliveryID == headerID, !signed.headerFields.contains(where: { $0.value == headerID }) {
            // The provider sends no id header (its id is inside the body, as with a --file body
            // for Stripe): no delivery carries this id, so there is none to report.
            deliveryID = nil
        }
        // What the scheme added to the URL it signed (Twilio's `?bodySHA256=…`, or `&…` after a
        // query of its own) goes on the URL posted to, after any query that one has.
        var url = postURL
        if let signedURL = signed.url, signedURL.count > signedFor.count, signedURL.hasPrefix(signedFor) {
            let added = signedURL.dropFirst(signedFor.count).dropFirst()
            url += (url.contains("?") ? "&" : "?") + added
        }
        return OutgoingWebhook(url: url, headerFields: signed.headerFields, body: payload, id: deliveryID, timestamp: timestamp)
    }

    /// A new header id in the provider's style: `msg_<uuid>` for Standard Webhooks, else a UUID.
    static func freshHeaderID(provider: String) -> String {
        let uuid = UUID().uuidString.lowercased()
        return provider == "standard-webhooks" ? "msg_" + uuid : uuid
    }

    /// A random id shaped like `id`: the prefix (through the last `_`, else the leading letters)
    /// kept, then each digit replaced by a digit and each letter by a letter of the same case
    /// (hex digits by hex digits when the id is hexadecimal, as UUIDs are).
    static func reshaped(_ id: String) -> String {
        let characters = Array(id)
        let prefixLength: Int
        if let underscore = characters.lastIndex(of: "_") {
            prefixLength = underscore + 1
        } else {
            prefixLength = characters.prefix(while: { $0.isLetter }).count
        }
        let rest = characters[prefixLength...]
        let hexadecimal = rest.allSatisfy { $0.isHexDigit || $0 == "-" } && rest.contains { $0.isLetter || $0 == "-" }
        var generator = SystemRandomNumberGenerator()
        func pick(_ alphabet: String) -> Character {
            alphabet.randomElement(using: &generator)!
        }
        var result = String(characters[..<prefixLength])
        for (offset, character) in rest.enumerated() {
            if hexadecimal, character.isHexDigit {
                let digit = pick("0123456789abcdef")
                result.append(character.isUppercase ? Character(digit.uppercased()) : digit)
            } else if character.isNumber {
                // Keep a leading digit non-zero, so numeric ids stay the same size (Discord snowflakes).
                result.append(offset == 0 && character != "0" ? pick("123456789") : pick("0123456789"))
            } else if character.isLowercase {
                result.append(pick("abcdefghijklmnopqrstuvwxyz"))
            } else if character.isUppercase {
                result.append(pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// `bytes` with every occurrence of `old` replaced by `new`.
    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
        let old = Array(old.utf8)
        let new = Array(new.utf8)
        guard !old.isEmpty else { return bytes }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == old[0], bytes.endIndex - index >= old.count, bytes[index..<(index + old.count)].elementsEqual(old) {
                result += new
                index += old.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}
