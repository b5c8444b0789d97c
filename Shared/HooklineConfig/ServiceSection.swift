/// `services.<name>:` — one consumer service.
package struct ServiceSection: Sendable, Hashable {
    /// The Kafka consumer group. Default: `hookline-<name>`
    package var group: String?
    /// Path of the service's SQLite database. Default: `./data/<name>.sqlite`
    package var database: String?
    /// `HOST:PORT` of its HTTP API, health and metrics. Default: the service's own (orders
    /// `127.0.0.1:8091`, payments `:8092`, ci `:8093`)
    package var listen: String?
    /// Regular expressions over topic names to follow; replaces the service's own defaults. Default: none
    package var topics: [String]?
    /// Attempts for a failing event before it goes to the dead-letter topic. Default: `5`
    package var maxAttempts: Int?
    /// How long processed event ids are kept for deduplication, in hours. Default: `168` (7 days)
    package var dedupRetentionHours: Int?
    /// Most events applied in one database transaction. Default: `1000`
    package var batchSize: Int?
    /// CI service: where new build jobs are POSTed. Default: none (jobs are only recorded)
    package var triggerURL: String?

    package init() {}
}

extension ServiceSection {
    /// The consumer group of the service named `name`: ``group``, by default `hookline-<name>`.
    package func groupID(service name: String) -> String {
        self.group ?? "hookline-\(name)"
    }
}
