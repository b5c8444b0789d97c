import Foundation
import HooklineConsumerKit
import HooklineKafka
import HooklineTestSupport
import Testing

/// A topic of events and the dead-letter topic of the service that failed them, on the test
/// broker, with a CLI configuration whose prefix points at both.
struct DLQFixture {
    let broker: EmbeddedBroker
    let admin: KafkaAdmin
    let service: String
    /// `<prefix>.<original>`.
    let original: String
    /// `<prefix>.dlq.<service>`.
    let deadLetters: String
    /// The configuration file's path.
    let configuration: String

    init(service: String, original: String, partitions: Int32, deadLetterPartitions: Int32, properties: String = "{}") async throws {
        self.broker = try await TestKafka.broker()
        self.admin = try TestKafka.admin(self.broker)
        let prefix = TestKafka.uniqueName("dlqcli")
        self.service = service
        self.original = "\(prefix).\(original)"
        self.deadLetters = "\(prefix).dlq.\(service)"
        try await self.admin.createTopics([.init(name: self.original, partitions: partitions), .init(name: self.deadLetters, partitions: deadLetterPartitions)])
        self.configuration = try cliConfiguration(broker: self.broker, prefix: prefix, properties: properties)
    }

    /// `hookline dlq <arguments> --config <this fixture's configuration>`.
    func dlq(_ arguments: [String]) async throws -> HooklineBinary.Result {
        try await HooklineBinary.run(["dlq"] + arguments + ["--config", self.configuration])
    }
}

@Suite("hookline dlq", .serialized, .timeLimit(.minutes(5)))
struct DLQTests {
    @Test("list and show what the real DeadLetterWriter wrote; redrive republishes with the original key and headers, once")
    func listShowRedrive() async throws {
        let fixture = try await DLQFixture(service: "orders", original: "shop.orders.create", partitions: 2, deadLetterPartitions: 1)
        let (broker, admin, service, original, deadLetters) = (fixture.broker, fixture.admin, fixture.service, fixture.original, fixture.deadLetters)

        // Three events the service could not apply, dead-lettered by the kit's own writer.
        let producer = try TestKafka.producer(broker)
        for index in 0..<3 {
            _ = try await producer.send(
                topic: original,
                key: Array("ord_\(index)".utf8),
                value: Array(#"{"order":"ord_\#(index)","total":"49.90"}"#.utf8),
                headers: [KafkaHeader(key: "ce_id", value: "evt-\(index)"), KafkaHeader(key: "ce_type", value: "shop.orders.create")]
            )
        }
        let originals = try await records(in: original, broker: broker, expect: 3).sorted { $0.headers.string("ce_id")! < $1.headers.string("ce_id")! }
        try #require(originals.count == 3)
        let writer = DeadLetterWriter(producer: producer, topic: deadLetters)
        for record in originals {
            try await writer.write(record, reason: .permanent("cannot decode the order"), attempts: 3)
        }
        await producer.shutdown()

        let hookline = fixture.dlq

        let list = try await hookline(["list", service, "--json"])
        #expect(list.status == 0, "\(list)")
        #expect(list.json?["topic"] as? String == deadLetters)
        let listed = list.json?["records"] as? [[String: Any]] ?? []
        #expect(listed.count == 3, "\(list)")
        for (index, entry) in listed.enumerated() {
            #expect(entry["offset"] as? Int64 == Int64(index))
            #expect(entry["original_topic"] as? String == original)
            #expect(entry["original_partition"] as? Int == Int(originals[index].partition))
            #expect(entry["original_offset"] as? Int64 == originals[index].offset)
            #expect((entry["reason"] as? String)?.hasPrefix("permanent") == true, "\(entry)")
            #expect(entry["attempts"] as? Int == 3)
            #expect(entry["event_id"] as? String == "evt-\(index)")
            #expect(entry["redriven"] as? Bool == false)
            #expect(entry["time"] is String)
        }
        let limited = try await hookline(["list", service, "--limit", "1", "--json"])
        #expect((limited.json?["records"] as? [[String: Any]])?.map { $0["event_id"] as? String } == ["evt-2"], "\(limited)")
        let table = try await hookline(["list", service])
        #expect(table.status == 0 && table.stdout.contains("evt-1") && table.stdout.contains("cannot decode the order"), "\(table)")

        let show = try await hookline(["show", service, "1", "--json"])
        #expect(show.status == 0, "\(show)")
        #expect(show.json?["payload"] as? String == #"{"order":"ord_1","total":"49.90"}"#, "\(show)")
        #expect(show.json?["key"] as? String == "ord_1")
        let headerKeys = (show.json?["headers"] as? [[String: Any]])?.compactMap { $0["key"] as? String } ?? []
        #expect(headerKeys.contains("ce_id") && headerKeys.contains("hookline-dlq-reason"), "\(show)")
        let showText = try await hookline(["show", service, "1"])
        #expect(showText.stdout.contains(#"{"order":"ord_1","total":"49.90"}"#) && showText.stdout.contains("hookline-dlq-source-topic: \(original)"), "\(showText)")
        let missing = try await hookline(["show", service, "7"])
        #expect(missing.status == 1 && missing.stderr.contains("no record at offset 7"), "\(missing)")

        // While the redrive group has a member (another redrive running), redrive refuses and sends nothing.
        let group = "hookline-dlq-redrive-\(service)"
        let member = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(broker, group: group), logger: TestKafka.logger)
        try member.subscribe(topics: [deadLetters])
        let joinedBy = ContinuousClock.now + .seconds(30)
        while member.assignment.isEmpty, ContinuousClock.now < joinedBy { try await Task.sleep(for: .milliseconds(100)) }
        try #require(!member.assignment.isEmpty, "the test member did not join \(group)")
        let refused = try await hookline(["redrive", service, "--all"])
        #expect(refused.status == 3, "\(refused)")
        #expect(refused.stderr.contains("1 active member"), "\(refused)")
        await member.close()
        try await waitForEmpty(admin, group: group)
        #expect(try await admin.committedOffsets(group: group).isEmpty, "a refused redrive recorded progress")

        // Redrive one, then the rest, then nothing is left.
        let dry = try await hookline(["redrive", service, "--all", "--dry-run", "--json"])
        #expect((dry.json?["sent"] as? [[String: Any]])?.count == 3, "\(dry)")
        let first = try await hookline(["redrive", service, "--offset", "0", "--json"])
        #expect(first.status == 0, "\(first)")
        #expect((first.json?["sent"] as? [[String: Any]])?.map { $0["event_id"] as? String } == ["evt-0"], "\(first)")
        let rest = try await hookline(["redrive", service, "--all"])
        #expect(rest.status == 0, "\(rest)")
        #expect(rest.stdout.contains("evt-1") && rest.stdout.contains("evt-2") && !rest.stdout.contains("evt-0"), "\(rest)")
        let again = try await hookline(["redrive", service, "--all", "--json"])
        #expect(again.status == 0, "\(again)")
        #expect((again.json?["sent"] as? [[String: Any]])?.isEmpty == true, "\(again)")
        let repeated = try await hookline(["redrive", service, "--offset", "0", "--json"])
        #expect((repeated.json?["sent"] as? [[String: Any]])?.isEmpty == true, "\(repeated)")
        #expect((repeated.json?["skipped"] as? [[String: Any]])?.first?["reason"] as? String == "already redriven", "\(repeated)")
        #expect(try await admin.committedOffsets(group: "hookline-dlq-redrive-\(service)") == [TopicPartition(topic: deadLetters, partition: 0): 3])

        // Each original is in its topic twice now: as first written and as redriven, same key, value and headers.
        let all = try await records(in: original, broker: broker, expect: 6, timeout: .seconds(30))
        #expect(all.count == 6)
        for record in originals {
            let copies = all.filter { $0.headers.string("ce_id") == record.headers.string("ce_id") }
            #expect(copies.count == 2, "\(record.headers.string("ce_id") ?? "")")
            for copy in copies {
                #expect(copy.key == record.key)
                #expect(copy.value == record.value)
                #expect(copy.headers == record.headers)
            }
        }
        let after = try await hookline(["list", service, "--json"])
        #expect((after.json?["records"] as? [[String: Any]])?.allSatisfy { $0["redriven"] as? Bool == true } == true, "\(after)")
    }

    @Test("a dead letter written without its payload (too large): list and show say so and where the original is; redrive sends the original, read again from its topic")
    func payloadOmitted() async throws {
        let fixture = try await DLQFixture(service: "orders", original: "shop.orders.create", partitions: 1, deadLetterPartitions: 1)
        let (broker, service, original) = (fixture.broker, fixture.service, fixture.original)

        // Fits the producer's message.max.bytes (1,000,000) as it is; not with the dead-letter headers.
        let producer = try TestKafka.producer(broker)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 999_800)
        _ = try await producer.send(
            topic: original, key: Array("ord_big".utf8), value: value,
            headers: [KafkaHeader(key: "ce_id", value: "evt-big"), KafkaHeader(key: "ce_type", value: "shop.orders.create")]
        )
        let originals = try await records(in: original, broker: broker, expect: 1)
        let record = try #require(originals.first)
        try await DeadLetterWriter(producer: producer, topic: fixture.deadLetters).write(record, reason: .permanent("cannot decode the order"), attempts: 1)
        await producer.shutdown()
        let location = "\(original)/0/\(record.offset)"

        let list = try await fixture.dlq(["list", service, "--json"])
        let listed = try #require((list.json?["records"] as? [[String: Any]])?.first, "\(list)")
        #expect(listed["event_id"] as? String == "evt-big")
        #expect((listed["payload_omitted"] as? String)?.contains(location) == true, "\(listed)")
        let table = try await fixture.dlq(["list", service])
        #expect(table.stdout.contains("cannot decode the order [payload omitted]"), "\(table)")

        let show = try await fixture.dlq(["show", service, "0", "--json"])
        #expect(show.status == 0, "\(show)")
        #expect(show.json?["payload"] is NSNull, "\(show)")
        #expect((show.json?["payload_omitted"] as? String)?.contains("999800 bytes") == true, "\(show)")
        let showText = try await fixture.dlq(["show", service, "0"])
        #expect(showText.stdout.contains("payload: omitted: ") && showText.stdout.contains(location), "\(showText)")

        let redrive = try await fixture.dlq(["redrive", service, "--all", "--json"])
        #expect(redrive.status == 0, "\(redrive)")
        let sent = redrive.json?["sent"] as? [[String: Any]] ?? []
        #expect(sent.count == 1 && sent.first?["from_original"] as? Bool == true && sent.first?["event_id"] as? String == "evt-big", "\(redrive)")
        let republished = try await records(in: original, broker: broker, expect: 2, timeout: .seconds(30))
        #expect(republished.count == 2)
        let copy = try #require(republished.first { $0.offset != record.offset })
        #expect(copy.key == record.key)
        #expect(copy.value == value)
        #expect(copy.headers == record.headers)
    }

    @Test("list and show print the control characters of what came off the wire as \\u{…}, not to the terminal; --json is the bytes as they are")
    func controlCharactersAreShownNotSent() async throws {
        let fixture = try await DLQFixture(service: "ci", original: "github.push", partitions: 1, deadLetterPartitions: 1)
        let producer = try TestKafka.producer(fixture.broker)
        // A commit message that retitles the terminal and turns its text red.
        let message = "fix\u{1B}]0;owned\u{07} \u{1B}[31mred\u{1B}[0m\r\nline two"
        _ = try await producer.send(
            topic: fixture.deadLetters, key: Array("octo\u{1B}[2J".utf8), value: Array(#"{"message":"\#(message)"}"#.utf8),
            headers: [
                KafkaHeader(key: "ce_id", value: "evt-\u{9B}1"),
                KafkaHeader(key: DeadLetterWriter.reasonHeader, value: "permanent: \(message)"),
                KafkaHeader(key: DeadLetterWriter.sourceTopicHeader, value: fixture.original),
            ]
        )
        await producer.shutdown()
        let list = try await fixture.dlq(["list", fixture.service])
        let show = try await fixture.dlq(["show", fixture.service, "0"])
        for output in [list, show] {
            #expect(output.status == 0, "\(output)")
            #expect(!output.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || (0x7F...0x9F).contains($0.value) }, "\(output)")
            #expect(output.stdout.contains(#"fix\u{1B}]0;owned\u{7} \u{1B}[31mred\u{1B}[0m"#), "\(output)")
        }
        #expect(list.stdout.contains(#"\u{D}\u{A}line two"#) && list.stdout.contains(#"evt-\u{9B}1"#), "\(list)")
        #expect(show.stdout.contains("key: octo\\u{1B}[2J"), "\(show)")
        let json = try await fixture.dlq(["show", fixture.service, "0", "--json"])
        #expect(json.json?["payload"] as? String == #"{"message":"\#(message)"}"#, "\(json)")
    }

    @Test("a service name the configuration does not know, without a dead-letter topic, is an error (exit 1) naming the services it knows; a configured one without dead letters has none")
    func unknownServiceIsAnError() async throws {
        let broker = try await TestKafka.broker()
        let configuration = try cliConfiguration(
            broker: broker, prefix: TestKafka.uniqueName("dlqcli"),
            extra: #"services: { orders: { group: "hookline-orders" }, payments: { group: "hookline-payments" } }"#
        )
        for command in [["list", "order"], ["show", "order", "0"], ["redrive", "order", "--all"]] {
            let mistyped = try await HooklineBinary.run(["dlq"] + command + ["--config", configuration])
            #expect(mistyped.status == 1, "\(command): \(mistyped)")
            #expect(mistyped.stderr.contains("no service named order in the configuration (orders, payments)"), "\(command): \(mistyped)")
        }
        let none = try await HooklineBinary.run(["dlq", "list", "orders", "--config", configuration])
        #expect(none.status == 0 && none.stdout.hasPrefix("No dead letters: "), "\(none)")
    }

    @Test("a redrive stopped by SIGTERM records what it sent and leaves the group: the next one sends the rest, nothing twice")
    func interruptedRedrive() async throws {
        let fixture = try await DLQFixture(service: "ci", original: "github.push", partitions: 1, deadLetterPartitions: 1)
        let count = 2000
        let producer = try TestKafka.producer(fixture.broker)
        // One at a time: the embedded broker's end offset counts a batch of several records as one.
        for index in 0..<count {
            _ = try await producer.send(
                topic: fixture.deadLetters,
                key: Array("repo".utf8),
                value: Array("push-\(index)".utf8),
                headers: [KafkaHeader(key: "ce_id", value: "evt-\(index)"), KafkaHeader(key: "hookline-dlq-source-topic", value: fixture.original)]
            )
        }
        await producer.shutdown()

        // SIGTERM once it has sent some (after its group join), while it sends the rest.
        let (admin, written) = (fixture.admin, TopicPartition(topic: fixture.original, partition: 0))
        let first = try await runBinary(
            HooklineBinary.path,
            arguments: ["dlq", "redrive", fixture.service, "--all", "--config", fixture.configuration],
            environment: ProcessInfo.processInfo.environment,
            directory: HooklineBinary.workingDirectory,
            timeout: .seconds(60),
            interruptWhen: { (try? await admin.watermarksOfEach([written], isolationLevel: .readUncommitted)[written]?.get().end) ?? 0 > 0 }
        )
        #expect(first.timedOut && first.status == 1 && first.stderr.contains("interrupted (SIGTERM)"), "\(first)")
        let sentFirst = first.stdout.split(separator: "\n").count { $0.hasPrefix("sent ") }
        #expect(sentFirst > 0 && sentFirst < count, "sent \(sentFirst) of \(count) before SIGTERM")
        let group = "hookline-dlq-redrive-\(fixture.service)"
        let mark = try await fixture.admin.committedOffsets(group: group)[TopicPartition(topic: fixture.deadLetters, partition: 0)] ?? 0
        #expect(mark == Int64(sentFirst), "recorded \(mark), printed \(sentFirst) sent")
        #expect(try await fixture.admin.describeConsumerGroups([group]).first?.members.isEmpty ?? true, "the interrupted run is still a member")

        let rest = try await HooklineBinary.run(["dlq", "redrive", fixture.service, "--all", "--json", "--config", fixture.configuration], timeout: .seconds(120))
        #expect(rest.status == 0, "\(rest)")
        #expect((rest.json?["sent"] as? [[String: Any]])?.count == count - sentFirst, "\(first.stdout.suffix(200)) / \(rest.stdout.prefix(300))")
        let republished = try await records(in: fixture.original, broker: fixture.broker, expect: count, timeout: .seconds(30))
        #expect(republished.count == count && Set(republished.map(\.value)).count == count)
    }

    @Test("a dead-letter topic of several partitions: --limit takes the latest across them, show and --offset need --partition, redrive --all covers every partition once, whatever the services' auto.offset.reset")
    func severalPartitions() async throws {
        // The services' `latest` is not the redrive's: it starts where it last recorded, from the beginning the first time.
        let fixture = try await DLQFixture(
            service: "payments", original: "stripe.charge.refunded", partitions: 1, deadLetterPartitions: 3, properties: #"{ "auto.offset.reset": "latest" }"#
        )
        let (broker, admin, service, original, deadLetters) = (fixture.broker, fixture.admin, fixture.service, fixture.original, fixture.deadLetters)

        let producer = try TestKafka.producer(broker)
        for index in 0..<6 {
            _ = try await producer.send(topic: original, key: Array("ch_\(index)".utf8), value: Array("refund-\(index)".utf8), headers: [KafkaHeader(key: "ce_id", value: "evt-\(index)")])
        }
        let originals = try await records(in: original, broker: broker, expect: 6).sorted { $0.offset < $1.offset }
        try #require(originals.count == 6)
        let writer = DeadLetterWriter(producer: producer, topic: deadLetters)
        for record in originals {
            try await writer.write(record, reason: .transient("the ledger is down"), attempts: 5)
            try await Task.sleep(for: .milliseconds(20))  // distinct dead-letter times, for --limit
        }
        await producer.shutdown()
        let partitions = (0..<3).map { TopicPartition(topic: deadLetters, partition: Int32($0)) }
        let end = try await admin.listOffsets(partitions, .latest, isolationLevel: .readUncommitted)
        try #require(end.values.filter { $0 > 0 }.count >= 2, "the keys should spread over partitions: \(end)")

        let hookline = fixture.dlq

        let latest = try await hookline(["list", service, "--limit", "2", "--json"])
        let latestIDs = (latest.json?["records"] as? [[String: Any]])?.compactMap { $0["event_id"] as? String }
        #expect(latestIDs == ["evt-4", "evt-5"], "\(latest)")

        let all = try await hookline(["list", service, "--json"])
        let listed = all.json?["records"] as? [[String: Any]] ?? []
        #expect(listed.compactMap { $0["event_id"] as? String } == (0..<6).map { "evt-\($0)" }, "\(all)")
        let elsewhere = try #require(listed.first { ($0["partition"] as? Int ?? 0) != 0 }, "\(all)")
        let partition = try #require(elsewhere["partition"] as? Int)
        let offset = try #require(elsewhere["offset"] as? Int64)
        let show = try await hookline(["show", service, String(offset), "--partition", String(partition), "--json"])
        #expect(show.status == 0, "\(show)")
        #expect(show.json?["event_id"] as? String == elsewhere["event_id"] as? String, "\(show)")
        #expect(show.json?["payload"] as? String == "refund-\((elsewhere["event_id"] as? String ?? "").dropFirst(4))", "\(show)")

        for ambiguous in [["show", service, String(offset)], ["redrive", service, "--offset", String(offset)]] {
            let refused = try await hookline(ambiguous)
            #expect(refused.status == 1 && refused.stderr.contains("has 3 partitions: give --partition"), "\(refused)")
        }
        let mixed = try await hookline(["redrive", service, "--all", "--partition", "1"])
        #expect(mixed.status == 64 && mixed.stderr.contains("--partition goes with --offset"), "\(mixed)")
        let unknownProperty = try cliConfiguration(broker: broker, prefix: "dlqcli-bad", properties: #"{ "no.such.property": "1" }"#)
        let misconfigured = try await HooklineBinary.run(["dlq", "list", service, "--config", unknownProperty])
        #expect(misconfigured.status == 78 && misconfigured.stderr.contains("no.such.property"), "\(misconfigured)")

        let redrive = try await hookline(["redrive", service, "--all", "--json"])
        #expect(redrive.status == 0, "\(redrive)")
        let sent = (redrive.json?["sent"] as? [[String: Any]])?.compactMap { $0["event_id"] as? String } ?? []
        #expect(Set(sent) == Set((0..<6).map { "evt-\($0)" }) && sent.count == 6, "\(redrive)")
        #expect(try await admin.committedOffsets(group: "hookline-dlq-redrive-\(service)") == end.filter { $0.value > 0 })
        let again = try await hookline(["redrive", service, "--all", "--json"])
        #expect((again.json?["sent"] as? [[String: Any]])?.isEmpty == true, "\(again)")

        let republished = try await records(in: original, broker: broker, expect: 12, timeout: .seconds(30))
        #expect(republished.count == 12)
        for record in originals {
            #expect(republished.filter { $0.value == record.value && $0.key == record.key && $0.headers == record.headers }.count == 2)
        }
    }
}

/// Apart from the serialized suite above: most of this test is the 30 s the original is waited
/// for, which runs beside the other suites. Its service name is its own, and so is its redrive
/// group: the broker is the test process's, shared with the suite above.
@Suite("hookline dlq: an original that cannot be read", .timeLimit(.minutes(3)))
struct DLQUnreadableOriginalTests {
    @Test("a dead letter without its payload whose original cannot be read now is not written off: the redrive stops before it, exit 1, and a later one sends it")
    func unreadableOriginalStopsTheRedrive() async throws {
        let fixture = try await DLQFixture(service: TestKafka.uniqueName("unreadable"), original: "shop.orders.create", partitions: 1, deadLetterPartitions: 1)
        let producer = try TestKafka.producer(fixture.broker)
        _ = try await producer.send(topic: fixture.original, key: Array("ord_0".utf8), value: Array("order 0".utf8), headers: [KafkaHeader(key: "ce_id", value: "evt-0")])
        // A letter whose original is at offset 1, which the log does not have yet: it cannot be
        // read, as while its partition's leader is down.
        _ = try await producer.send(
            topic: fixture.deadLetters, key: Array("ord_1".utf8), value: [],
            headers: [
                KafkaHeader(key: "ce_id", value: "evt-1"),
                KafkaHeader(key: DeadLetterWriter.reasonHeader, value: "permanent: cannot decode the order"),
                KafkaHeader(key: DeadLetterWriter.sourceTopicHeader, value: fixture.original),
                KafkaHeader(key: DeadLetterWriter.sourcePartitionHeader, value: "0"),
                KafkaHeader(key: DeadLetterWriter.sourceOffsetHeader, value: "1"),
                KafkaHeader(key: DeadLetterWriter.attemptsHeader, value: "1"),
                KafkaHeader(key: DeadLetterWriter.payloadOmittedHeader, value: "999800 bytes; the original is at \(fixture.original)/0/1"),
            ]
        )

        let first = try await fixture.dlq(["redrive", fixture.service, "--all", "--json"])
        #expect(first.status == 1, "\(first)")
        #expect((first.json?["sent"] as? [[String: Any]])?.isEmpty == true, "\(first)")
        #expect((first.json?["skipped"] as? [[String: Any]])?.isEmpty == true, "\(first)")
        #expect((first.json?["error"] as? String)?.contains("cannot be read") == true, "\(first)")
        let listed = try await fixture.dlq(["list", fixture.service, "--json"])
        #expect((listed.json?["records"] as? [[String: Any]])?.first?["redriven"] as? Bool == false, "\(listed)")

        // The original can be read now.
        _ = try await producer.send(topic: fixture.original, key: Array("ord_1".utf8), value: Array("order 1".utf8), headers: [KafkaHeader(key: "ce_id", value: "evt-1")])
        await producer.shutdown()
        let second = try await fixture.dlq(["redrive", fixture.service, "--all", "--json"])
        #expect(second.status == 0, "\(second)")
        let sent = second.json?["sent"] as? [[String: Any]] ?? []
        #expect(sent.count == 1 && sent.first?["event_id"] as? String == "evt-1" && sent.first?["from_original"] as? Bool == true, "\(second)")
        let republished = try await records(in: fixture.original, broker: fixture.broker, expect: 3, timeout: .seconds(30))
        #expect(republished.map { String(decoding: $0.value, as: UTF8.self) } == ["order 0", "order 1", "order 1"])
    }
}
