import Crypto
import FoundationEssentials

/// The HMAC keys of one source, built once from its secrets. Several keys mean rotation.
struct HMACKeys<H: HashFunction>: Sendable {
    /// One HMAC per key, keyed once: each request starts from a copy, so it pays neither for
    /// padding the key nor for hashing the two key blocks (measured: a third of verifying a
    /// 1.6 KB GitHub delivery).
    private let keyed: [HMAC<H>]

    init(secrets: [String]) {
        self.init(keys: secrets.map { SymmetricKey(data: Array($0.utf8)) })
    }

    init(keys: [SymmetricKey]) {
        self.keyed = keys.map { HMAC<H>(key: $0) }
    }

    /// Whether any of `candidates` is the HMAC, under any key, of the message `feed` writes.
    /// Each key costs one HMAC whatever the number of candidates; comparisons are constant-time.
    @inline(__always)
    func authenticates(_ candidates: [[UInt8]], _ feed: (inout HMAC<H>) -> Void) -> Bool {
        for keyed in self.keyed {
            var hmac = keyed
            feed(&hmac)
            let code = hmac.finalize()
            for candidate in candidates where code == candidate {
                return true
            }
        }
        return false
    }

    @inline(__always)
    func authenticates(_ candidate: [UInt8], _ feed: (inout HMAC<H>) -> Void) -> Bool {
        for keyed in self.keyed {
            var hmac = keyed
            feed(&hmac)
            if hmac.finalize() == candidate {
                return true
            }
        }
        return false
    }

    /// The HMAC of the message `feed` writes under `secret`, for signers.
    static func code(secret: [UInt8], _ feed: (inout HMAC<H>) -> Void) -> [UInt8] {
        var hmac = HMAC<H>(key: SymmetricKey(data: secret))
        feed(&hmac)
        return Array(hmac.finalize())
    }
}

extension HMAC {
    /// Feeds the UTF-8 bytes of `text`.
    @inline(__always)
    mutating func update(utf8 text: String) {
        var text = text
        text.withUTF8 { self.update(data: UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func update(bytes: [UInt8]) {
        self.update(data: bytes)
    }
}

/// Constant-time equality of two secrets of possibly different lengths (GitLab tokens): compares
/// SHA-256 digests, so neither the content nor the length leaks through timing.
struct SecretDigest: Sendable {
    let digest: SHA256.Digest

    init(_ secret: String) {
        self.digest = SHA256.hash(data: Array(secret.utf8))
    }

    func matches(_ candidate: String) -> Bool {
        var candidate = candidate
        let other = candidate.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return self.digest == other
    }
}
