import GRDB

/// Applies one kind of event (one `ce_type`) to the service's database.
///
/// ``apply(_:in:)`` runs inside the batch's write transaction, within a savepoint of its own:
/// when it throws, its writes are rolled back and the rest of the batch is untouched. It must
/// only write through `db` (anything else it does is not undone, and may run again on retry)
/// and must not log the payload.
public protocol EventHandler: Sendable {
    /// Throw ``ConsumerError/permanent(_:cause:)`` for an event that can never apply, anything
    /// else to have it retried.
    func apply(_ event: ConsumerEvent, in db: Database) throws
}

/// A handler made of a closure, for handlers too small to deserve a type.
public struct EventHandlerFunction: EventHandler {
    private let body: @Sendable (ConsumerEvent, Database) throws -> Void

    public init(_ body: @escaping @Sendable (ConsumerEvent, Database) throws -> Void) {
        self.body = body
    }

    public func apply(_ event: ConsumerEvent, in db: Database) throws {
        try self.body(event, db)
    }
}
