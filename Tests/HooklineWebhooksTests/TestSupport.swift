import Foundation
import HTTPTypes
import Testing

@testable import HooklineWebhooks

/// The fixed clock of every test.
let now: Int64 = 1_700_000_000

/// Header fields from name-value pairs, in order (duplicates kept).
func fields(_ pairs: [(String, String)]) -> HTTPFields {
    var headers = HTTPFields()
    for (name, value) in pairs {
        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    return headers
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Runs `body` and expects it to throw a ``WebhookError`` with `reason` and `status`.
func expectRefusal(
    _ reason: WebhookError.Reason,
    _ status: HTTPResponse.Status,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(WebhookError) -> VerifiedWebhook
) {
    do {
        let verified = try body()
        Issue.record("Expected \(reason), got success: \(verified)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
        #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
    }
}

/// Ed25519 test keys: seeds of 32 equal bytes (1, 2, 3) and their public keys, computed with
/// Python's `cryptography`.
enum TestKeys {
    static let seedHex = [1, 2, 3].map { String(repeating: String(format: "%02x", $0), count: 32) }
    static let publicHex = [
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
        "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
    ]
    static let whpk = [
        "whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=",
        "whpk_gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=",
        "whpk_7UkoxijRwsbq6QM4kFmVYSlZJzpcY/k2NsFGFKyHN9E=",
    ]
    static let whsk = [
        "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        "whsk_AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
        "whsk_AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
    ]
    static let whsec = [
        "whsec_" + Base64.encode(Array("current-standard-secret-32-bytes".utf8)),
        "whsec_" + Base64.encode(Array("rotated-standard-secret-32-bytes".utf8)),
        "whsec_" + Base64.encode(Array("wrong-standard-secret-32-bytes!!".utf8)),
    ]
}

