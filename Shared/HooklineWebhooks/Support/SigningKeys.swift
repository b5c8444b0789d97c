import Crypto
import FoundationEssentials

/// Key decoding shared by the schemes that use `whsec_` secrets and Ed25519 keys.
enum SigningKeys {
    /// The HMAC key of a Standard Webhooks secret: `whsec_` then base64.
    static func standardSecret(_ secret: String, provider: String, setting: String = "secrets") throws(WebhookConfigurationError) -> SymmetricKey {
        guard secret.hasPrefix("whsec_"), let bytes = Base64.decode(secret.utf8.dropFirst(6).asSubstring), !bytes.isEmpty else {
            throw WebhookConfigurationError(provider: provider, message: "Every entry of \(setting) must be whsec_ followed by base64.")
        }
        return SymmetricKey(data: bytes)
    }

    /// An Ed25519 public key from its 32 raw bytes.
    static func ed25519PublicKey(_ bytes: [UInt8]?, provider: String, what: String) throws(WebhookConfigurationError) -> Curve25519.Signing.PublicKey {
        guard let bytes, bytes.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else {
            throw WebhookConfigurationError(provider: provider, message: "Every public key must be \(what) of a 32-byte Ed25519 key.")
        }
        return key
    }

    /// An Ed25519 private key from its 32-byte seed, or 64 bytes of seed then public key.
    static func ed25519PrivateKey(_ bytes: [UInt8]?, provider: String, what: String) throws(WebhookConfigurationError) -> Curve25519.Signing.PrivateKey {
        guard let bytes, bytes.count == 32 || bytes.count == 64,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes[0..<32])
        else {
            throw WebhookConfigurationError(provider: provider, message: "The private key must be \(what) of a 32-byte Ed25519 seed (or 64 bytes of seed and public key).")
        }
        return key
    }

    /// The Ed25519 signature of `message`.
    static func ed25519Sign(_ message: [UInt8], with key: Curve25519.Signing.PrivateKey, provider: String) throws(WebhookConfigurationError) -> [UInt8] {
        guard let signature = try? key.signature(for: message) else {
            throw WebhookConfigurationError(provider: provider, message: "Ed25519 signing failed.")
        }
        return Array(signature)
    }

    static func require(_ secret: String?, provider: String, _ what: String = "secret") throws(WebhookConfigurationError) -> String {
        guard let secret, !secret.isEmpty else {
            throw WebhookConfigurationError(provider: provider, message: "Signing needs a \(what).")
        }
        return secret
    }
}

extension Substring.UTF8View {
    var asSubstring: Substring { Substring(self) }
}
