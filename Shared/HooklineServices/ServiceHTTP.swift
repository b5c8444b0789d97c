import Foundation
import HooklineHTTP
import Hummingbird
import NIOCore

/// `{"total": N, "items": [...]}`: every list endpoint's shape.
package struct Listing<Item: Encodable & Sendable>: Encodable, Sendable {
    package var total: Int
    package var items: [Item]
}

/// `?limit=&offset=`, with limit 1…500 (default 50) and offset from 0 (default 0); nil when
/// either is given and is not a whole number in its range (answer ``Response/badPage``): a
/// `limit=0` or `offset=-1` is a client's mistake to show, not to round.
struct Page {
    var limit: Int
    var offset: Int

    init?(_ request: Request) {
        let query = request.uri.queryParameters
        guard let limit = Self.number(query.get("limit"), default: 50), (1...500).contains(limit),
            let offset = Self.number(query.get("offset"), default: 0), offset >= 0
        else {
            return nil
        }
        self.limit = limit
        self.offset = offset
    }

    private static func number(_ text: String?, default value: Int) -> Int? {
        guard let text else { return value }
        return Int(text)
    }
}

extension Response {
    /// 400 for a `limit` or `offset` that is not a whole number in its range.
    static var badPage: Response {
        .json(status: .badRequest, ["error": "bad_query", "message": "limit must be a whole number from 1 to 500 (default 50), offset one from 0 (default 0)."])
    }
}

/// `49.90` from 4990 minor units (two decimals, as every currency the samples use).
func formatMinorUnits(_ amount: Int64) -> String {
    let sign = amount < 0 ? "-" : ""
    let absolute = amount.magnitude  // Int64.min has no Int64 absolute value
    let cents = absolute % 100
    return "\(sign)\(absolute / 100).\(cents < 10 ? "0" : "")\(cents)"
}

/// The largest amount a ledger takes, in minor units either way (ten trillion in currency units):
/// far beyond any payment, and small enough that no sum of a ledger's entries overflows 64 bits
/// (`GET /payments`' `net_minor`).
let maxAmountMinor: Int64 = 1_000_000_000_000_000

/// 4990 from `49.90` (decimals past the second are dropped); nil when the text is not a decimal
/// amount or is beyond ``maxAmountMinor``. A sender's amount must never trap: the record would
/// stop its service at every start.
func parseMinorUnits(_ text: String) -> Int64? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2, let whole = Int64(parts[0]) else { return nil }
    let decimals = parts.count == 2 ? parts[1].utf8 : Substring().utf8
    guard decimals.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
    let minor = decimals.prefix(2).reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) } * (decimals.count == 1 ? 10 : 1)
    let (scaled, overflowed) = whole.multipliedReportingOverflow(by: 100)
    let (amount, overflowedAdding) = scaled.addingReportingOverflow(text.hasPrefix("-") ? -minor : minor)
    return overflowed || overflowedAdding || amount.magnitude > maxAmountMinor.magnitude ? nil : amount
}

/// RFC 3339 text of Unix seconds (UTC). A format style, not a formatter object per event.
func iso8601(seconds: Int64) -> String {
    Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
}

/// A Stripe event's envelope: when it happened and the object it is about.
struct StripeEvent<Object: Decodable>: Decodable {
    struct Data: Decodable { var object: Object }
    var created: Int64
    var data: Data
}

/// Topic regular expressions `^<prefix>\.<suffix>`, the prefix taken literally; `^<suffix>` for an
/// empty prefix, which topic names leave out with its dot (``WebhookTopic/name(prefix:source:event:)``).
func topicPatterns(_ prefix: String, _ suffixes: String...) -> [String] {
    suffixes.map { "^" + (prefix.isEmpty ? "" : literalPattern(prefix) + "\\.") + $0 }
}

/// `text` as a literal inside a regular expression.
func literalPattern(_ text: String) -> String {
    var escaped = ""
    for character in text {
        if ".^$*+?()[]{}|\\-".contains(character) { escaped.append("\\") }
        escaped.append(character)
    }
    return escaped
}
