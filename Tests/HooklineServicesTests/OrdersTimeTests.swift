import Foundation
import GRDB
import HooklineConsumerKit
import HooklineKafka
import Logging
import Testing

@testable import HooklineServices

@Suite("orders: event times as instants")
struct OrdersTimeTests {
    @Test("RFC 3339 text reads as the instant it names, whatever its offset; anything else reads as nothing")
    func instants() {
        #expect(RFC3339.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.milliseconds("2024-10-27T02:50:00+02:00") == RFC3339.milliseconds("2024-10-27T00:50:00Z"))
        #expect(RFC3339.milliseconds("2024-10-27T02:10:00+01:00") == RFC3339.milliseconds("2024-10-27T01:10:00Z"))
        #expect(RFC3339.milliseconds("2024-10-27T01:10:00Z")! - RFC3339.milliseconds("2024-10-27T00:50:00Z")! == 20 * 60 * 1000)
        #expect(RFC3339.milliseconds("2024-05-14T09:26:35Z") == 1_715_678_795_000)
        #expect(RFC3339.milliseconds("2024-05-14T09:26:35.25Z") == 1_715_678_795_250)
        #expect(RFC3339.milliseconds("2024-05-14T04:26:35.123456-05:00") == 1_715_678_795_123)
        #expect(RFC3339.milliseconds("2000-02-29t12:00:00z") == 951_825_600_000)
        for text in ["", "2024-05-14", "2024-05-14T09:26:35", "2024-13-01T00:00:00Z", "2024-05-14T09:26:35+0200", "2024-05-14T09:26:35Z ", "yesterday"] {
            #expect(RFC3339.milliseconds(text) == nil, "\(text)")
        }
    }

    @Test("an orders database from before keeps its rows when the service opens it, each with the instant of its time")
    func instantMigration() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("orders.sqlite").path
        let service = OrdersService.make(prefix: "webhooks")
        do {
            let old = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            service.migrations(&migrator)
            try migrator.migrate(old, upTo: "orders-v1")
            try old.write { db in
                try db.execute(sql: "INSERT INTO orders (id, source, status, status_rank, total, updated_at, events) VALUES ('a', 'shopify', 'open', 0, '10.00', '2024-10-27T02:50:00+02:00', 1)")
                try db.execute(sql: "INSERT INTO orders (id, source, status, status_rank, total, updated_at, events) VALUES ('b', 'stripe', 'paid', 1, '5.00', NULL, 1)")
            }
        }
        let runner = try ConsumerRunner(
            service: service,
            configuration: ConsumerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), groupID: "orders-migration", databasePath: path),
            logger: Logger(label: "hookline.test")
        )
        let instants = try runner.reader.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, updated_at_ms FROM orders").map { ($0["id"] as String, $0["updated_at_ms"] as Int64?) })
        }
        #expect(instants == ["a": RFC3339.milliseconds("2024-10-27T00:50:00Z"), "b": nil])
    }
}
