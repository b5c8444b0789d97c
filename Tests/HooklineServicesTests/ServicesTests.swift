import Foundation
import GRDB
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import NIOHTTP1
import Testing

@Suite("Consumer services behind the real gateway", .timeLimit(.minutes(3)))
struct ServicesTests {
    @Test("orders: out-of-order events reach the right final state; a duplicate delivery applies once")
    func ordersFinalStateAndDuplicates() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        let orders = try await RunningService.start("orders", configuration: configuration)
        defer { Task { await orders.stop(); await gateway.stop() } }

        // Shopify's events for one order, newest first: cancel before payment before creation.
        for event in ["orders.cancelled", "orders.paid", "orders.updated", "orders.create"] {
            #expect(try await deliver(WebhookSamples.sample(provider: "shopify", event: event)!, to: gateway) == 202)
        }
        // The provider delivers the creation again (same event id).
        #expect(try await deliver(WebhookSamples.sample(provider: "shopify", event: "orders.create")!, to: gateway) == 202)
        // The shop backend's order and Stripe's checkout for order ord_1001, payment first.
        #expect(try await deliver(WebhookSamples.sample(provider: "stripe", event: "checkout.session.completed")!, to: gateway) == 202)
        #expect(try await deliver(WebhookSamples.sample(provider: "hmac-sha256", event: "new_order")!, to: gateway) == 202)

        let shopify = try await orders.waitFor("/orders/820982911946154508") { ($0["events"] as? Int) == 4 }
        #expect(shopify["status"] as? String == "cancelled")
        #expect(shopify["total"] as? String == "49.90")
        #expect(shopify["currency"] as? String == "EUR")
        #expect(shopify["customer"] as? String == "jon@example.com")
        #expect(shopify["source"] as? String == "shopify")

        let generic = try await orders.waitFor("/orders/ord_1001") { ($0["events"] as? Int) == 2 }
        // Its first event's source: the generic backend's or Stripe's checkout, in either order.
        #expect(["hmac-sha256", "stripe"].contains(generic["source"] as? String), "\(generic)")
        #expect(generic["status"] as? String == "paid")
        #expect(generic["total"] as? String == "49.90")

        let metrics = try await orders.waitFor("/orders?limit=10") { ($0["total"] as? Int) == 2 }
        #expect((metrics["items"] as? [[String: Any]])?.count == 2)
        var duplicates = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            duplicates = try await httpRequest(.GET, orders.baseURL + "/metrics").text
            if duplicates.contains(#"hookline_consumer_duplicates_skipped_total{service="orders"} 1"#) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(duplicates.contains(#"hookline_consumer_duplicates_skipped_total{service="orders"} 1"#))
        #expect(try await httpRequest(.GET, orders.baseURL + "/orders/nope").status == 404)
        // A path or method it does not serve: a JSON 404, as every Hookline server answers.
        for (method, path) in [(HTTPMethod.GET, "/nope"), (.POST, "/orders")] {
            let unknown = try await httpRequest(method, orders.baseURL + path)
            #expect(unknown.status == 404 && unknown.text.contains(#""error":"not_found""#), "\(method) \(path): \(unknown.status) \(unknown.text)")
        }
        for query in ["limit=ten", "limit=0", "limit=501", "limit=-5", "offset=-1", "offset=x"] {
            let badPage = try await httpRequest(.GET, orders.baseURL + "/orders?" + query)
            #expect(badPage.status == 400 && badPage.text.contains(#""error":"bad_query""#), "\(query): \(badPage.status)")
        }
        #expect(try await httpRequest(.GET, orders.baseURL + "/orders?limit=500&offset=0").status == 200)
        #expect(try await httpRequest(.GET, orders.baseURL + "/readyz").status == 200)
    }

    @Test("orders: the newest event is judged by the instant its time names, not its text: 02:10+01:00 is after 02:50+02:00 across the DST change")
    func ordersNewestByInstant() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        let orders = try await RunningService.start("orders", configuration: configuration)
        defer { Task { await orders.stop(); await gateway.stop() } }

        // Berlin's clocks go back at 03:00 CEST on 27 October 2024: the second update is 20
        // minutes after the first, though its text sorts before it.
        let sample = try #require(WebhookSamples.sample(provider: "shopify", event: "orders.updated"))
        let template = String(decoding: sample.body, as: UTF8.self)
        for (index, (updatedAt, total)) in [("2024-10-27T02:50:00+02:00", "10.00"), ("2024-10-27T02:10:00+01:00", "20.00")].enumerated() {
            let body = template
                .replacingOccurrences(of: #""updated_at":"2024-05-14T14:03:11+02:00""#, with: #""updated_at":"\#(updatedAt)""#)
                .replacingOccurrences(of: #""total_price":"49.90""#, with: #""total_price":"\#(total)""#)
            try #require(body.contains(updatedAt) && body.contains(total))
            #expect(try await deliver(sample, to: gateway, body: Array(body.utf8), id: "dst-\(index)") == 202)
        }

        let order = try await orders.waitFor("/orders/820982911946154508") { ($0["events"] as? Int) == 2 }
        #expect(order["total"] as? String == "20.00")
        #expect(order["updated_at"] as? String == "2024-10-27T02:10:00+01:00")
    }

    @Test("payments: a ledger per event, refunds net out; ci: one build per repository, commit and trigger")
    func paymentsAndBuilds() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        let payments = try await RunningService.start("payments", configuration: configuration)
        let ci = try await RunningService.start("ci", configuration: configuration)
        defer { Task { await payments.stop(); await ci.stop(); await gateway.stop() } }

        for (provider, event) in [
            ("stripe", "payment_intent.payment_failed"), ("stripe", "payment_intent.succeeded"), ("stripe", "charge.refunded"),
            ("hmac-sha256", "payment_success"), ("github", "push"), ("github", "pull_request"), ("gitlab", "push"),
        ] {
            #expect(try await deliver(WebhookSamples.sample(provider: provider, event: event)!, to: gateway) == 202, "\(provider) \(event)")
        }
        // GitHub redelivers the push under a new delivery id: a new event, but the same build.
        #expect(try await deliver(WebhookSamples.sample(provider: "github", event: "push")!, to: gateway, id: "redelivery-1") == 202)

        let ledger = try await payments.waitFor("/payments?order_id=ord_1001") { ($0["total"] as? Int) == 4 }
        // 49.90 paid by card, refunded, 49.90 paid again through the shop backend; the failure moved nothing.
        #expect(ledger["net_minor"] as? Int == 4990)
        let kinds = (ledger["items"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }.sorted()
        #expect(kinds == ["failure", "payment", "payment", "refund"])

        let builds = try await ci.waitFor("/builds") { ($0["total"] as? Int) == 3 }
        let items = try #require(builds["items"] as? [[String: Any]])
        #expect(Set(items.compactMap { $0["trigger"] as? String }) == ["push", "pull_request"])
        #expect(items.allSatisfy { $0["status"] as? String == "recorded" })
        // Once the service has applied all four of its events (the redelivered push among them): still three builds.
        let applied = await eventually(timeout: .seconds(20)) {
            (try? await httpRequest(.GET, ci.baseURL + "/metrics"))?.text.contains(#"hookline_consumer_events_applied_total{service="ci"} 4"#) == true
        }
        #expect(applied, "the ci service did not apply 4 events")
        #expect(try await httpRequest(.GET, ci.baseURL + "/builds").json?["total"] as? Int == 3)
    }

    @Test("payments: Stripe's refunded total, sent again at each partial refund, nets once per charge, whichever order its events arrive in")
    func partialRefundsNetOnce() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        let payments = try await RunningService.start("payments", configuration: configuration)
        defer { Task { await payments.stop(); await gateway.stop() } }

        // Two charges of 49.90, each refunded 10.00 then 20.00 more: their events carry the totals
        // 1000 and 3000. The first charge's arrive in order, the second's the other way round.
        let sample = try #require(WebhookSamples.sample(provider: "stripe", event: "charge.refunded"))
        let template = String(decoding: sample.body, as: UTF8.self)
        for (order, totals) in [("ord_in_order", [1000, 3000]), ("ord_reversed", [3000, 1000])] {
            for (index, total) in totals.enumerated() {
                let body = template
                    .replacingOccurrences(of: #""amount_refunded":4990"#, with: #""amount_refunded":\#(total)"#)
                    .replacingOccurrences(of: #""id":"ch_3PGq7uLkdIwHu7ix1Kc0Wd3F""#, with: #""id":"ch_\#(order)""#)
                    .replacingOccurrences(of: #""order_id":"ord_1001""#, with: #""order_id":"\#(order)""#)
                    .replacingOccurrences(of: #""id":"evt_3PGq7uLkdIwHu7ix1Jr6Pc0A""#, with: #""id":"evt_\#(order)_\#(index)""#)
                try #require(body.contains("\(total),") && body.contains("ch_\(order)") && body.contains("\"\(order)\"") && body.contains("evt_\(order)_\(index)"))
                #expect(try await deliver(sample, to: gateway, body: Array(body.utf8)) == 202)
            }
        }
        for (order, amounts) in [("ord_in_order", [-1000, -2000]), ("ord_reversed", [-3000, 0])] {
            let ledger = try await payments.waitFor("/payments?order_id=\(order)") { ($0["total"] as? Int) == 2 }
            #expect(ledger["net_minor"] as? Int == -3000, "\(order): \(ledger)")
            let items = try #require(ledger["items"] as? [[String: Any]])
            let byEvent = Dictionary(uniqueKeysWithValues: items.compactMap { item in (item["event_id"] as? String).map { ($0, item["amount_minor"] as? Int) } })
            #expect(byEvent == ["evt_\(order)_0": amounts[0], "evt_\(order)_1": amounts[1]], "\(order)")
            #expect(items.allSatisfy { $0["charge_id"] as? String == "ch_\(order)" && $0["kind"] as? String == "refund" })
        }
    }

    @Test("payments: two shop backends sending a payment with the same event id make two ledger entries, neither dead-lettered")
    func paymentsWithOneIDFromTwoSources() async throws {
        let broker = try await TestKafka.broker()
        var configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        var second = try #require(configuration.sources["hmac-sha256"])
        second.secrets = ["secret-shop-b"]
        configuration.sources["shop-b"] = second
        let gateway = try await RunningGateway.start(configuration)
        let payments = try await RunningService.start("payments", configuration: configuration)
        defer { Task { await payments.stop(); await gateway.stop() } }

        // Each backend numbers its events for itself: both send event 1001.
        let sample = try #require(WebhookSamples.sample(provider: "hmac-sha256", event: "payment_success"))
        #expect(try await deliver(sample, to: gateway, id: "1001") == 202)
        #expect(try await deliver(sample, to: gateway, source: "shop-b", id: "1001") == 202)

        let ledger = try await payments.waitFor("/payments?order_id=ord_1001") { ($0["total"] as? Int) == 2 }
        let items = try #require(ledger["items"] as? [[String: Any]])
        // `source` names the gateway's source (shop-b is a second generic backend), `event_source` is its ce_source.
        #expect(Set(items.compactMap { $0["source"] as? String }) == ["hmac-sha256", "shop-b"])
        #expect(Set(items.compactMap { $0["event_source"] as? String }) == ["/webhooks/hmac-sha256", "/webhooks/shop-b"])
        #expect(items.allSatisfy { $0["event_id"] as? String == "1001" })
        #expect(ledger["net_minor"] as? Int == 9980)
        let metrics = try await httpRequest(.GET, payments.baseURL + "/metrics").text
        #expect(metrics.contains(#"hookline_consumer_dead_lettered_total{service="payments"} 0"#), "\(metrics)")
        #expect(metrics.contains(#"hookline_consumer_events_applied_total{service="payments"} 2"#), "\(metrics)")
    }

    @Test("payments: an amount whose minor units overflow 64 bits or pass the ledger's largest, or a negative refunded total, is dead-lettered, and the events after it are applied")
    func amountsThatDoNotFit() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        let payments = try await RunningService.start("payments", configuration: configuration)
        defer { Task { await payments.stop(); await gateway.stop() } }

        let payment = try #require(WebhookSamples.sample(provider: "hmac-sha256", event: "payment_success"))
        let huge = String(decoding: payment.body, as: UTF8.self).replacingOccurrences(of: #""amount":"49.90""#, with: #""amount":"99999999999999999""#)
        try #require(huge.contains("99999999999999999"))
        #expect(try await deliver(payment, to: gateway, body: Array(huge.utf8), id: "too-large") == 202)

        // One charge's refunded totals: 10.00, then one no charge can have (it trapped the
        // subtraction of what was recorded).
        let refund = try #require(WebhookSamples.sample(provider: "stripe", event: "charge.refunded"))
        for (index, total) in ["1000", "-9223372036854775808"].enumerated() {
            let body = String(decoding: refund.body, as: UTF8.self)
                .replacingOccurrences(of: #""amount_refunded":4990"#, with: #""amount_refunded":\#(total)"#)
                .replacingOccurrences(of: #""id":"evt_3PGq7uLkdIwHu7ix1Jr6Pc0A""#, with: #""id":"evt_refund_\#(index)""#)
            try #require(body.contains("\(total),") && body.contains("evt_refund_\(index)"))
            #expect(try await deliver(refund, to: gateway, body: Array(body.utf8)) == 202)
        }
        // A Stripe payment past the ledger's largest amount, which no sum of entries may overflow.
        let intent = try #require(WebhookSamples.sample(provider: "stripe", event: "payment_intent.succeeded"))
        let vast = String(decoding: intent.body, as: UTF8.self)
            .replacingOccurrences(of: #""amount":4990"#, with: #""amount":1000000000000001"#)
            .replacingOccurrences(of: #""amount_received":4990"#, with: #""amount_received":1000000000000001"#)
        try #require(vast.contains(#""amount":1000000000000001"#) && vast.contains(#""amount_received":1000000000000001"#))
        #expect(try await deliver(intent, to: gateway, body: Array(vast.utf8)) == 202)
        #expect(try await deliver(payment, to: gateway, id: "fits") == 202)

        let ledger = try await payments.waitFor("/payments?order_id=ord_1001") { ($0["total"] as? Int) == 2 }
        #expect(ledger["net_minor"] as? Int == 4990 - 1000, "\(ledger)")
        let deadLettered = await eventually(timeout: .seconds(20)) {
            (try? await httpRequest(.GET, payments.baseURL + "/metrics"))?.text.contains(#"hookline_consumer_dead_lettered_total{service="payments"} 3"#) == true
        }
        #expect(deadLettered, "the payments service did not dead-letter 3 events")
    }

    @Test("payments: reprocessing a topic past the dedup window (the topic replayed, the service's offsets and processed ids deleted) leaves each entry once, nothing dead-lettered")
    func reprocessedPaymentsAreEnteredOnce() async throws {
        let broker = try await TestKafka.broker()
        let configuration = systemConfiguration(broker: broker, directory: try temporaryDirectory())
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let first = try await RunningService.start("payments", configuration: configuration)
        let sample = try #require(WebhookSamples.sample(provider: "hmac-sha256", event: "payment_success"))
        #expect(try await deliver(sample, to: gateway, id: "1001") == 202)
        _ = try await first.waitFor("/payments?order_id=ord_1001") { ($0["total"] as? Int) == 1 }
        await first.stop()

        // docs/cli.md's reprocessing, with the processed ids gone as after dedup_retention_hours.
        let section = try #require(configuration.services["payments"])
        let group = try #require(section.group)
        try await DatabaseQueue(path: try #require(section.database)).write { db in
            try db.execute(sql: "DELETE FROM kafka_offsets; DELETE FROM processed_events")
        }
        let topic = "\(configuration.kafka.topicPrefix).hmac-sha256.payment_success"
        let admin = try TestKafka.admin(broker)
        let metadata = try #require(try await admin.listTopics().first { $0.name == topic })
        try await admin.alterCommittedOffsets(group: group, offsets: Dictionary(uniqueKeysWithValues: metadata.topicPartitions.map { ($0, Int64(0)) }))

        let payments = try await RunningService.start("payments", configuration: configuration)
        defer { Task { await payments.stop() } }
        let settled = await eventually(timeout: .seconds(30)) {
            guard let metrics = (try? await httpRequest(.GET, payments.baseURL + "/metrics"))?.text else { return false }
            return metrics.contains(#"hookline_consumer_events_applied_total{service="payments"} 1"#)
                || !metrics.contains(#"hookline_consumer_dead_lettered_total{service="payments"} 0"#)
        }
        #expect(settled, "the replayed payment was neither applied nor dead-lettered")
        let metrics = try await httpRequest(.GET, payments.baseURL + "/metrics").text
        #expect(metrics.contains(#"hookline_consumer_dead_lettered_total{service="payments"} 0"#), "\(metrics)")
        let ledger = try await httpRequest(.GET, payments.baseURL + "/payments?order_id=ord_1001").json
        #expect(ledger?["total"] as? Int == 1)
        #expect(ledger?["net_minor"] as? Int == 4990)
    }
}
