import Foundation
import GRDB
import HooklineConsumerKit
import HooklineKafka
import HooklineServices
import Logging
import Testing

@Suite("payments ledger database")
struct PaymentsLedgerTests {
    @Test("a ledger from before entries were keyed by source keeps its entries when the service opens it, and takes an entry with one of their ids from another source")
    func keyBySourceMigration() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("payments.sqlite").path
        let service = PaymentsService.make(prefix: "webhooks")

        // The database as the service left it before: its first migration only, one entry.
        do {
            let old = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            service.migrations(&migrator)
            try migrator.migrate(old, upTo: "payments-v1")
            try old.write { db in
                try db.execute(
                    sql: "INSERT INTO payments (event_id, order_id, kind, amount_minor, currency, reference, occurred_at, source) VALUES ('1001', 'ord_1', 'payment', 4990, 'EUR', 'pay_1', NULL, '/webhooks/shop-a')"
                )
            }
        }

        // Opening it migrates it, as the service does at start (no broker involved).
        let runner = try ConsumerRunner(
            service: service,
            configuration: ConsumerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), groupID: "payments-migration", databasePath: path),
            logger: Logger(label: "hookline.test")
        )
        let writer = runner.writer
        try writer.write { db in
            let kept = try PaymentsService.Entry.fetchAll(db)
            #expect(kept.map(\.eventID) == ["1001"])
            #expect(kept.first?.eventSource == PaymentsService.legacyEventSource)
            #expect(kept.first?.amountMinor == 4990 && kept.first?.orderID == "ord_1" && kept.first?.source == "/webhooks/shop-a")
            try db.execute(
                sql: "INSERT INTO payments (event_source, event_id, order_id, kind, amount_minor, source) VALUES ('/webhooks/shop-b', '1001', 'ord_9', 'payment', 100, '/webhooks/shop-b')"
            )
            #expect(try PaymentsService.Entry.fetchCount(db) == 2)
            #expect(try db.indexes(on: "payments").contains { $0.columns == ["order_id"] })
        }
    }
}
