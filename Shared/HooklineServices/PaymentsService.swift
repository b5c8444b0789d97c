import Foundation
import GRDB
import HooklineConsumerKit
import HooklineHTTP
import Hummingbird

/// **payments**: an append-only ledger, one row per provider event, linked to an order where the
/// event names one. Refunds are negative entries, so an order's payments net out by summing.
/// Stripe's `charge.refunded` carries the charge's refunded total so far, sent again at each
/// partial refund: its entry is what that total adds to the refunds already recorded for the
/// charge (`charge_id`), and 0 for an event older than one applied before it.
///
/// An entry is keyed by its event's `ce_source` and `ce_id`, as the kit deduplicates: providers
/// number their events each for themselves, so two shop backends may both send payment 1001. An
/// event whose entry is there already adds nothing: one reprocessed after the kit forgot it
/// (`dedup_retention_hours`), by a replay, is not entered twice (nor refused and dead-lettered).
package enum PaymentsService {
    package static func make(prefix: String) -> ConsumerService {
        ConsumerService(
            name: "payments",
            topicPatterns: topicPatterns(prefix, #"[^.]+\.payment_intent\..*"#, #"[^.]+\.charge\.refunded$"#, #"[^.]+\.payment_success$"#),
            handlers: [
                "stripe.payment_intent.succeeded": EventHandlerFunction { event, db in try stripeIntent(event, db, kind: .payment) },
                "stripe.payment_intent.payment_failed": EventHandlerFunction { event, db in try stripeIntent(event, db, kind: .failure) },
                "stripe.charge.refunded": EventHandlerFunction(stripeRefund),
                "hmac-sha256.payment_success": EventHandlerFunction(genericPayment),
            ],
            migrations: { migrator in
                migrator.registerMigration("payments-v1") { db in
                    try db.create(table: "payments") { t in
                        t.primaryKey("event_id", .text)
                        t.column("order_id", .text).indexed()
                        t.column("kind", .text).notNull()
                        t.column("amount_minor", .integer).notNull()  // signed: refunds are negative
                        t.column("currency", .text)
                        t.column("reference", .text)
                        t.column("occurred_at", .text)
                        t.column("source", .text).notNull()
                    }
                }
                // v1 keyed entries by the event id alone: a second source's event with an id the
                // first had used failed UNIQUE and was dead-lettered, its payment missing from the
                // ledger. Entries from before keep their ids under `legacyEventSource`.
                migrator.registerMigration("payments-v2-key-by-source") { db in
                    try db.execute(
                        sql: """
                            CREATE TABLE payments_v2 (
                                event_source TEXT NOT NULL,
                                event_id TEXT NOT NULL,
                                order_id TEXT,
                                kind TEXT NOT NULL,
                                amount_minor INTEGER NOT NULL,
                                currency TEXT,
                                reference TEXT,
                                occurred_at TEXT,
                                source TEXT NOT NULL,
                                PRIMARY KEY (event_source, event_id)
                            );
                            INSERT INTO payments_v2 (event_source, event_id, order_id, kind, amount_minor, currency, reference, occurred_at, source)
                                SELECT ?, event_id, order_id, kind, amount_minor, currency, reference, occurred_at, source FROM payments;
                            DROP TABLE payments;
                            ALTER TABLE payments_v2 RENAME TO payments;
                            CREATE INDEX index_payments_on_order_id ON payments(order_id);
                            """,
                        arguments: [legacyEventSource]
                    )
                }
                // Refund entries name their charge, whose recorded refunds a later total is netted
                // against. Entries from before have none: each took the total it carried.
                migrator.registerMigration("payments-v3-refunded-charge") { db in
                    try db.alter(table: "payments") { t in t.add(column: "charge_id", .text) }
                    try db.create(index: "index_payments_on_charge_id", on: "payments", columns: ["charge_id"])
                }
            }
        )
    }

    /// `event_source` of the entries written before the ledger was keyed by source, whose
    /// `ce_source` was not kept: not one a gateway writes (those start with `/`).
    package static let legacyEventSource = "*"

    package enum Kind: String, Codable, Sendable {
        /// Money received; counts towards the order's net.
        case payment
        /// A failed attempt; recorded with amount 0 (nothing moved).
        case failure
        /// Money returned; a negative amount.
        case refund
    }

    package struct Entry: Codable, Sendable, FetchableRecord, PersistableRecord {
        package static let databaseTableName = "payments"
        /// The event's `ce_source` (empty when it had none); with ``eventID``, the entry's key.
        package var eventSource: String
        package var eventID: String
        package var orderID: String?
        package var kind: Kind
        package var amountMinor: Int64
        package var currency: String?
        package var reference: String?
        package var occurredAt: String?
        package var source: String
        /// The Stripe charge a refund returns money of; nil for other entries.
        package var chargeID: String? = nil

        enum CodingKeys: String, CodingKey {
            case kind, currency, reference, source
            case eventSource = "event_source", eventID = "event_id", orderID = "order_id", amountMinor = "amount_minor", occurredAt = "occurred_at"
            case chargeID = "charge_id"
        }
    }

    private struct PaymentIntent: Decodable {
        var id: String
        var amount: Int64
        var amount_received: Int64?
        var currency: String
        var metadata: [String: String]?
    }

    private static func stripeIntent(_ event: ConsumerEvent, _ db: Database, kind: Kind) throws {
        let stripe = try event.json(StripeEvent<PaymentIntent>.self)
        let intent = stripe.data.object
        guard [intent.amount, intent.amount_received ?? 0].allSatisfy({ (0...maxAmountMinor).contains($0) }) else {
            throw ConsumerError.permanent("payment intent \(ConsumerError.quoting(intent.id)) has an amount outside 0…\(maxAmountMinor)")
        }
        try Entry(
            eventSource: event.source ?? "", eventID: event.id, orderID: intent.metadata?["order_id"], kind: kind,
            amountMinor: kind == .payment ? (intent.amount_received ?? intent.amount) : 0,
            currency: intent.currency.uppercased(), reference: intent.id, occurredAt: iso8601(seconds: stripe.created), source: event.sourceName
        ).insert(db, onConflict: .ignore)
    }

    private struct Charge: Decodable {
        var id: String
        var amount_refunded: Int64
        var currency: String
        var payment_intent: String?
        var metadata: [String: String]?
    }

    /// `amount_refunded` is the charge's total refunded so far: two partial refunds of 10 and 20
    /// arrive as 1000 and 3000. The entry is what the total adds to the refunds recorded for the
    /// charge (Stripe's ids are unique across accounts), whichever order the events come in.
    private static func stripeRefund(_ event: ConsumerEvent, _ db: Database) throws {
        let stripe = try event.json(StripeEvent<Charge>.self)
        let charge = stripe.data.object
        // Stripe's totals are never negative; one that is must not trap the subtraction below.
        guard (0...maxAmountMinor).contains(charge.amount_refunded) else {
            throw ConsumerError.permanent("charge \(ConsumerError.quoting(charge.id)) has an amount_refunded outside 0…\(maxAmountMinor)")
        }
        let recorded = try Int64.fetchOne(
            db, sql: "SELECT -COALESCE(SUM(amount_minor), 0) FROM payments WHERE charge_id = ? AND kind = ?", arguments: [charge.id, Kind.refund.rawValue]
        ) ?? 0
        try Entry(
            eventSource: event.source ?? "", eventID: event.id, orderID: charge.metadata?["order_id"], kind: .refund,
            amountMinor: -max(0, charge.amount_refunded - recorded),
            currency: charge.currency.uppercased(), reference: charge.payment_intent ?? charge.id,
            occurredAt: iso8601(seconds: stripe.created), source: event.sourceName, chargeID: charge.id
        ).insert(db, onConflict: .ignore)
    }

    private struct GenericPayment: Decodable {
        var payment_id: String
        var order_id: String?
        var amount: String
        var currency: String?
        var created_at: String?
    }

    private static func genericPayment(_ event: ConsumerEvent, _ db: Database) throws {
        let payment = try event.json(GenericPayment.self)
        guard let amount = parseMinorUnits(payment.amount) else {
            throw ConsumerError.permanent("payment_success amount \(ConsumerError.quoting(payment.amount)) is not a decimal amount of at most \(formatMinorUnits(maxAmountMinor))")
        }
        try Entry(
            eventSource: event.source ?? "", eventID: event.id, orderID: payment.order_id, kind: .payment, amountMinor: amount, currency: payment.currency,
            reference: payment.payment_id, occurredAt: payment.created_at, source: event.sourceName
        ).insert(db, onConflict: .ignore)
    }

    // MARK: HTTP

    private struct PaymentListing: Encodable, Sendable {
        var total: Int
        var items: [Entry]
        /// Sum of the amounts listed, in minor units: payments minus refunds.
        var net_minor: Int64
    }

    /// `GET /payments?order_id=&limit=&offset=` → `{"total", "items", "net_minor"}`.
    package static func routes(_ router: Router<BasicRequestContext>, reader: any DatabaseReader) {
        router.get("/payments") { request, _ -> Response in
            guard let page = Page(request) else { return .badPage }
            let orderID = request.uri.queryParameters.get("order_id")
            let listing = try await reader.read { db in
                var query = Entry.all()
                if let orderID { query = query.filter(Column("order_id") == orderID) }
                let net = try Int64.fetchOne(db, query.select(sum(Column("amount_minor")))) ?? 0
                return PaymentListing(
                    total: try query.fetchCount(db),
                    items: try query.order(Column("occurred_at"), Column("event_id")).limit(page.limit, offset: page.offset).fetchAll(db),
                    net_minor: net
                )
            }
            return .json(listing)
        }
    }
}
