import Foundation
import GRDB
import HooklineConsumerKit
import HooklineHTTP
import HooklineWebhooks
import Hummingbird

/// **orders**: one row per order, whatever the provider, in its right final state whatever order
/// the events arrive in. The status only moves forward (open → paid → cancelled), and the
/// order's details come from the most recent event by the provider's own timestamp, compared as
/// the instant it names (`updated_at_ms`), not as text.
package enum OrdersService {
    package static func make(prefix: String) -> ConsumerService {
        ConsumerService(
            name: "orders",
            topicPatterns: topicPatterns(prefix, #"[^.]+\.orders\..*"#, #"[^.]+\.checkout\.session\.completed$"#, #"[^.]+\.new_order$"#),
            handlers: [
                "shopify.orders.create": EventHandlerFunction { event, db in try shopify(event, db, status: .open) },
                "shopify.orders.updated": EventHandlerFunction { event, db in try shopify(event, db, status: nil) },
                "shopify.orders.paid": EventHandlerFunction { event, db in try shopify(event, db, status: .paid) },
                "shopify.orders.cancelled": EventHandlerFunction { event, db in try shopify(event, db, status: .cancelled) },
                "stripe.checkout.session.completed": EventHandlerFunction(stripeCheckout),
                "hmac-sha256.new_order": EventHandlerFunction(genericNewOrder),
            ],
            migrations: { migrator in
                migrator.registerMigration("orders-v1") { db in
                    try db.create(table: "orders") { t in
                        t.primaryKey("id", .text)
                        t.column("source", .text).notNull()
                        t.column("status", .text).notNull()
                        t.column("status_rank", .integer).notNull()
                        t.column("total", .text)
                        t.column("currency", .text)
                        t.column("customer", .text)
                        t.column("created_at", .text)
                        t.column("updated_at", .text)  // the provider's time of the event the details come from
                        t.column("events", .integer).notNull().defaults(to: 0)
                    }
                }
                // v1 judged the most recent event by comparing `updated_at` as text, which sorts
                // by wall-clock time: across a DST change (02:50+02:00, then 02:10+01:00 twenty
                // minutes later) or between providers writing other offsets, a later event lost.
                migrator.registerMigration("orders-v2-updated-instant") { db in
                    try db.alter(table: "orders") { t in
                        t.add(column: "updated_at_ms", .integer)  // Unix ms of updated_at; NULL when absent or unreadable
                    }
                    let rows = try Row.fetchAll(db, sql: "SELECT id, updated_at FROM orders WHERE updated_at IS NOT NULL")
                    let update = try db.makeStatement(sql: "UPDATE orders SET updated_at_ms = ? WHERE id = ?")
                    for row in rows {
                        let text: String = row["updated_at"]
                        try update.execute(arguments: [RFC3339.milliseconds(text), row["id"] as String])
                    }
                }
            }
        )
    }

    /// Where an order stands; later statuses win over earlier ones whatever order events arrive in.
    package enum Status: String, Codable, Sendable, Comparable {
        case open, paid, cancelled

        var rank: Int {
            switch self {
            case .open: 0
            case .paid: 1
            case .cancelled: 2
            }
        }

        package static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
    }

    package struct Order: Codable, Sendable, FetchableRecord, PersistableRecord {
        package static let databaseTableName = "orders"
        package var id: String
        package var source: String
        package var status: Status
        package var total: String?
        package var currency: String?
        package var customer: String?
        package var createdAt: String?
        package var updatedAt: String?
        package var events: Int

        enum CodingKeys: String, CodingKey {
            case id, source, status, total, currency, customer, events
            case createdAt = "created_at", updatedAt = "updated_at"
        }
    }

    /// What one event says about an order.
    struct Observation {
        var id: String
        var source: String
        var status: Status?
        var total: String?
        var currency: String?
        var customer: String?
        var createdAt: String?
        var updatedAt: String?
    }

    /// Merges an observation into the order in one statement: the status by rank (never back),
    /// the details from the most recent event by the provider's time, the first creation time.
    static func apply(_ observation: Observation, _ db: Database) throws {
        let status = observation.status ?? .open  // rank 0: an update without a status never wins
        try db.cachedStatement(sql: Self.upsert).execute(arguments: [
            observation.id, observation.source, status.rawValue, status.rank, observation.total, observation.currency,
            observation.customer, observation.createdAt, observation.updatedAt, observation.updatedAt.flatMap(RFC3339.milliseconds),
        ])
    }

    /// Whether the incoming event is at least as recent as what the row holds, by instant. A
    /// row with no readable time takes any event; an event with none never wins over one with a time.
    private static let newer = "(orders.updated_at_ms IS NULL OR excluded.updated_at_ms >= orders.updated_at_ms)"

    /// The merge, built once: the statement cache is keyed by this text, hashed on every event.
    private static let upsert = """
        INSERT INTO orders (id, source, status, status_rank, total, currency, customer, created_at, updated_at, updated_at_ms, events)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
        ON CONFLICT (id) DO UPDATE SET
            status = CASE WHEN excluded.status_rank > orders.status_rank THEN excluded.status ELSE orders.status END,
            status_rank = MAX(orders.status_rank, excluded.status_rank),
            total = CASE WHEN \(Self.newer) THEN COALESCE(excluded.total, orders.total) ELSE orders.total END,
            currency = CASE WHEN \(Self.newer) THEN COALESCE(excluded.currency, orders.currency) ELSE orders.currency END,
            customer = CASE WHEN \(Self.newer) THEN COALESCE(excluded.customer, orders.customer) ELSE orders.customer END,
            updated_at = CASE WHEN \(Self.newer) THEN COALESCE(excluded.updated_at, orders.updated_at) ELSE orders.updated_at END,
            updated_at_ms = CASE WHEN \(Self.newer) THEN COALESCE(excluded.updated_at_ms, orders.updated_at_ms) ELSE orders.updated_at_ms END,
            created_at = COALESCE(orders.created_at, excluded.created_at),
            events = orders.events + 1
        """

    // MARK: Providers
    //
    // Each handler reads the few fields it needs by JSON pointer, without decoding the rest of
    // the payload (Shopify's orders run to several kilobytes).

    private enum Shopify {
        static let id = JSONPointer("/id")!, totalPrice = JSONPointer("/total_price")!, currency = JSONPointer("/currency")!
        static let email = JSONPointer("/email")!, createdAt = JSONPointer("/created_at")!
        static let updatedAt = JSONPointer("/updated_at")!, cancelledAt = JSONPointer("/cancelled_at")!
    }

    private static func shopify(_ event: ConsumerEvent, _ db: Database, status: Status?) throws {
        try apply(
            Observation(
                id: try event.requiredText(at: Shopify.id), source: event.sourceName,
                status: event.text(at: Shopify.cancelledAt) != nil ? .cancelled : status,
                total: event.text(at: Shopify.totalPrice), currency: event.text(at: Shopify.currency), customer: event.text(at: Shopify.email),
                createdAt: event.text(at: Shopify.createdAt), updatedAt: event.text(at: Shopify.updatedAt)
            ),
            db
        )
    }

    private enum CheckoutSession {
        static let id = JSONPointer("/data/object/id")!, orderID = JSONPointer("/data/object/metadata/order_id")!
        static let amountTotal = JSONPointer("/data/object/amount_total")!, currency = JSONPointer("/data/object/currency")!
        static let email = JSONPointer("/data/object/customer_details/email")!, created = JSONPointer("/created")!
    }

    private static func stripeCheckout(_ event: ConsumerEvent, _ db: Database) throws {
        try apply(
            Observation(
                id: try event.text(at: CheckoutSession.orderID) ?? event.requiredText(at: CheckoutSession.id), source: event.sourceName, status: .paid,
                total: event.integer(at: CheckoutSession.amountTotal).map(formatMinorUnits),
                currency: event.text(at: CheckoutSession.currency)?.uppercased(), customer: event.text(at: CheckoutSession.email),
                updatedAt: event.integer(at: CheckoutSession.created).map(iso8601(seconds:))
            ),
            db
        )
    }

    private enum GenericOrder {
        static let orderID = JSONPointer("/order_id")!, total = JSONPointer("/total")!, currency = JSONPointer("/currency")!
        static let email = JSONPointer("/customer/email")!, createdAt = JSONPointer("/created_at")!
    }

    private static func genericNewOrder(_ event: ConsumerEvent, _ db: Database) throws {
        let createdAt = event.text(at: GenericOrder.createdAt)
        try apply(
            Observation(
                id: try event.requiredText(at: GenericOrder.orderID), source: event.sourceName, status: .open,
                total: event.text(at: GenericOrder.total), currency: event.text(at: GenericOrder.currency),
                customer: event.text(at: GenericOrder.email), createdAt: createdAt, updatedAt: createdAt
            ),
            db
        )
    }

    // MARK: HTTP

    /// `GET /orders/{id}` (404 when unknown) and `GET /orders?limit=&offset=`.
    package static func routes(_ router: Router<BasicRequestContext>, reader: any DatabaseReader) {
        router.get("/orders/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let order = try await reader.read({ try Order.fetchOne($0, key: id) }) else {
                return .json(status: .notFound, ["error": "not_found", "message": "No order \(id)."])
            }
            return .json(order)
        }
        router.get("/orders") { request, _ -> Response in
            guard let page = Page(request) else { return .badPage }
            let (total, items) = try await reader.read { db in
                (try Order.fetchCount(db), try Order.order(Column("updated_at_ms").desc, Column("id")).limit(page.limit, offset: page.offset).fetchAll(db))
            }
            return .json(Listing(total: total, items: items))
        }
    }
}
