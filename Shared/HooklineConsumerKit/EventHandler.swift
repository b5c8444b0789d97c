import GRDB

/// Applies one kind of event (one `ce_type`) to the service's database.
///
/// ``apply(_:in:)`` runs inside the batch's write transaction. When it throws, the transaction
/// is rolled back, its writes with it, and the events before it in the batch are applied again
/// in a new transaction: a handler may run more than once for an event, and only what it
/// wrote through `db` in the committed run counts. So it must only write through `db`
/// (anything else it does is not undone) and must not log the payload.
package protocol EventHandler: Sendable {
    /// Throw ``ConsumerError/permanent(_:cause:)`` for an event that can never apply, anything
    /// else to have it retried, briefly (see ``ConsumerError``), then dead-lettered.
    func apply(_ event: ConsumerEvent, in db: Database) throws
}

/// A handler made of a closure, for handlers too small to deserve a type.
package struct EventHandlerFunction: EventHandler {
    private let body: @Sendable (ConsumerEvent, Database) throws -> Void

    package init(_ body: @escaping @Sendable (ConsumerEvent, Database) throws -> Void) {
        self.body = body
    }

    package func apply(_ event: ConsumerEvent, in db: Database) throws {
        try self.body(event, db)
    }
}
