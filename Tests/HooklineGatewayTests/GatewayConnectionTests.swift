import Foundation
import HTTPTypes
import HooklineConfig
import HooklineKafka
import HooklineTestSupport
import HooklineWebhooks
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The connection-level behaviour of the gateway's event-loop webhook handler, over a raw socket:
/// what HTTP/1.1 clients may do that a pooled HTTP client never does.
@Suite("Gateway connections", .timeLimit(.minutes(2)))
struct GatewayConnectionTests {
    @Test("pipelined webhooks and other requests on one connection are answered in request order")
    func pipelinedRequestsAnsweredInOrder() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        // One write: a webhook for a topic not created yet, a router route, two more webhooks
        // around an unknown source (the router's 404), and a webhook with a query.
        var bytes: [UInt8] = []
        bytes += try signedPush(id: "pipe-1")
        bytes += Array("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
        bytes += try signedPush(id: "pipe-2")
        bytes += try signedPush(id: "pipe-x", path: "/webhooks/nope")
        bytes += try signedPush(id: "pipe-3", path: "/webhooks/github?from=test")
        let responses = try await RawHTTPConnection.exchange(port: gateway.port, send: bytes, expect: 5)

        #expect(responses.map(\.status) == [202, 200, 202, 404, 202])
        // Every answer, from the event loop or the router, has a Date (RFC 9110) and a JSON type.
        let now = Date()
        for response in responses {
            let date = try #require(response.headers["date"].flatMap(httpDateFormatter.date(from:)), "Date: \(response.headers)")
            #expect(abs(date.timeIntervalSince(now)) < 60)
            #expect(response.headers["content-type"] == "application/json")
        }
        #expect(responses[0].json?["id"] as? String == "pipe-1")
        #expect(responses[1].json?["status"] as? String == "ok")
        #expect(responses[2].json?["id"] as? String == "pipe-2")
        #expect(responses[3].json?["error"] as? String == "unknown_source")
        #expect(responses[4].json?["id"] as? String == "pipe-3")
        #expect(try await publishedIDs(gateway, broker: broker, expect: 3) == ["pipe-1", "pipe-2", "pipe-3"])
    }

    @Test("a webhook with Connection: close is answered, then the connection closes and what followed it is not served; a bad signature is a JSON 401")
    func connectionCloseAndRefusal() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        var bytes = try signedPush(id: "bad", secret: "wrong")
        bytes += try signedPush(id: "closing", extraHeaders: "Connection: close\r\n")
        bytes += try signedPush(id: "after-close")
        let exchange = try await RawHTTPConnection.exchange(port: gateway.port, send: bytes, expect: 2, untilClosed: true)
        #expect(exchange.map(\.status) == [401, 202])
        #expect(exchange[0].json?["error"] as? String == "bad_signature")
        #expect(exchange[1].json?["id"] as? String == "closing")
        #expect(exchange[1].headers["connection"] == "close")
        #expect(try await publishedIDs(gateway, broker: broker, expect: 1) == ["closing"])
    }

    @Test("a client that half-closes the connection after pipelining two webhooks gets both answers")
    func halfClosedClientGetsItsAnswers() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        let bytes = try signedPush(id: "half-1") + signedPush(id: "half-2")
        let responses = try await RawHTTPConnection.conversation(port: gateway.port, steps: [(bytes, 2)], halfClose: true, untilClosed: true)
        #expect(responses.map(\.status) == [202, 202])
        #expect(responses.map { $0.json?["id"] as? String } == ["half-1", "half-2"])
        #expect(try await publishedIDs(gateway, broker: broker, expect: 2) == ["half-1", "half-2"])
    }

    @Test("thousands of refusals pipelined behind a webhook that waits for its acknowledgement are answered in order, without nesting a call each")
    func refusalsPipelinedBehindAWebhook() async throws {
        // A gateway process of its own: the flood keeps its event loop busy for seconds, which
        // would hold up the other tests' gateways on this process's loops; and a crash is its own.
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("flood")
        let gateway = try await GatewayProcess.github(broker: broker, prefix: prefix, secret: "s3cret", kafka: "", gateway: "")
        defer { if gateway.process.isRunning { gateway.process.terminate() } }

        // Large refusals first, so that the connection's reads grow to their largest and one
        // read holds as many requests as it can (about 3,990 nested answers overflowed the
        // event loop's stack before the fix).
        let large = Array("POST /webhooks/github HTTP/1.1\r\nContent-Length: 65000\r\n\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 65000)
        let refusals = 3_000
        let pipelined = try signedPush(id: "in-front") + Array(repeating: Array("POST /webhooks/github HTTP/1.1\r\n\r\n".utf8), count: refusals).joined()
        let answers = try await RawHTTPConnection.flood(
            port: gateway.port,
            warmUp: (Array(repeating: large, count: 40).flatMap { $0 }, 40),
            send: Array(pipelined),
            expect: refusals + 1
        )
        #expect(answers.warmUp == Array(repeating: 401, count: 40))
        #expect(answers.statuses.count == refusals + 1)
        #expect(answers.statuses.first == 202)
        #expect(answers.statuses.dropFirst().allSatisfy { $0 == 401 })
        let published = try await records(in: "\(prefix).github.push", broker: broker, expect: 1)
        #expect(published.map { $0.headers.string("ce_id") } == ["in-front"])
        #expect(gateway.process.isRunning)
        #expect(try await RawHTTPConnection.exchange(port: gateway.port, send: Array("GET /healthz HTTP/1.1\r\n\r\n".utf8), expect: 1).map(\.status) == [200])
    }

    @Test("a client that pipelines more answers than the socket buffers hold and does not read them stops being read; once it reads, it gets every answer, also after half-closing")
    func clientThatDoesNotReadStopsBeingRead() async throws {
        // A gateway process of its own, as above.
        let broker = try await TestKafka.broker()
        let gateway = try await GatewayProcess.github(broker: broker, prefix: TestKafka.uniqueName("half"), secret: "s3cret", kafka: "", gateway: "")
        defer { if gateway.process.isRunning { gateway.process.terminate() } }

        // Answers (each about 250 bytes, 7 times its 34-byte request) for three times what the
        // socket buffers take while the client does not read: its own is 4 KB, the gateway's at
        // most tcp_wmem's largest (4 MB here, so 40,000 requests). The gateway used to read and
        // answer them all, buffering what the socket did not take: a client could grow its
        // memory without limit. Now it stops reading at about 19,000 answers here (the socket
        // buffers and NIO's 64 KB high watermark).
        let sendBuffer = try String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8).split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) }
        let count = max(40_000, 3 * (try #require(sendBuffer)) / 250)
        let bytes = Array(repeating: Array("POST /webhooks/github HTTP/1.1\r\n\r\n".utf8), count: count).joined()
        let port = gateway.port
        let stalled = Mutex(0)
        let answers = try await RawHTTPConnection.flood(port: port, send: Array(bytes), halfClose: true, expect: count) {
            // Read only once the gateway has stopped answering for a second and a half.
            let deadline = ContinuousClock.now + .seconds(60)
            var last = -1
            var unchanged = 0
            while ContinuousClock.now < deadline, unchanged < 3 {
                let refused = try await refusedCount(port: port)
                unchanged = refused == last && refused > 0 ? unchanged + 1 : 0
                last = refused
                try await Task.sleep(for: .milliseconds(500))
            }
            stalled.withLock { $0 = last }
        }
        let answeredUnread = stalled.withLock { $0 }
        #expect(answeredUnread > 0 && answeredUnread < count * 3 / 4, "answered \(answeredUnread) of \(count) before the client read any")
        // The end of the input arrives while the last answers still wait in the gateway: they
        // are written before the connection closes.
        #expect(answers.statuses.count == count)
        #expect(answers.statuses.allSatisfy { $0 == 401 })
        #expect(answers.closed)
    }

    @Test("a request that asks to switch protocols is answered with Connection: close and the connection closes: what the client streams after it is not read")
    func upgradeRequestClosesTheConnection() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        for (name, head) in [
            ("upgrade", "POST /webhooks/github HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: foo\r\nContent-Length: 0\r\n\r\n"),
            ("connect", "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"),
        ] {
            // NIO's decoder stops after such a request and used to keep whatever followed: 64 MB
            // went in, and would have gone on until the idle timeout.
            let outcome = try await RawHTTPConnection.stream(port: gateway.port, head: Array(head.utf8), megabytes: 64)
            #expect(outcome.answer?.headers["connection"] == "close", "\(name)")
            #expect(outcome.megabytesSent < 64, "\(name): the gateway kept reading what followed")
        }
        #expect(try await recordCount(prefix: gateway.configuration.kafka.topicPrefix, broker: broker) == 0)
    }

    @Test("a webhook that asks to switch to h2c, as Java's HTTP client does, and sends its body after the head is read in full, published and answered with Connection: close")
    func upgradeRequestBodyIsRead() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        let upgrade = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
        let push = try signedPushParts(id: "h2c", extraHeaders: upgrade)
        // The body a byte a millisecond: it arrives in reads after the head's.
        let outcome = try await RawHTTPConnection.trickle(port: gateway.port, head: push.head, body: push.body, every: .milliseconds(1), for: .seconds(15))
        #expect(outcome.responses.map(\.status) == [202], "cut off after \(outcome.seconds) s")
        #expect(outcome.responses.first?.headers["connection"] == "close")
        #expect(outcome.closed)
        #expect(try await publishedIDs(gateway, broker: broker, expect: 1) == ["h2c"])
    }

    @Test("a held webhook's ack timeout counts from its arrival, not from when the webhook before it was answered")
    func heldWebhookKeepsItsArrivalTime() async throws {
        let broker = try await EmbeddedBroker.start()
        defer { broker.stop() }
        let configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])], ackTimeoutMs: 1500)
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        await broker.shutDown()

        // Neither can be written: the first waits out its 1.5 s, the second, pipelined behind it,
        // has waited as long by then and is answered at once (it used to wait 1.5 s more).
        let responses = try await RawHTTPConnection.exchange(port: gateway.port, send: try signedPush(id: "first") + signedPush(id: "second"), expect: 2)
        #expect(responses.map(\.status) == [503, 503])
        let apart = responses[1].arrived - responses[0].arrived
        #expect(apart < .milliseconds(750), "the second answer came \(apart) after the first")
    }

    @Test("a body that takes longer than the ack timeout to arrive, within the request timeout, gets a 503 and is not published, the broker up")
    func lateBodyIsNotPublished() async throws {
        let broker = try await TestKafka.broker()
        let configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])], ackTimeoutMs: 1000)
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }

        // The topic exists and takes writes: the late body's refusal is its own. (Under a full
        // run's load, creating the topic can outlast the 1 s: the first webhooks may get 503.)
        let onTime = await eventually(timeout: .seconds(30)) {
            (try? await RawHTTPConnection.exchange(port: gateway.port, send: try signedPush(id: "on-time"), expect: 1).map(\.status)) == [202]
        }
        #expect(onTime, "no webhook was acknowledged within its 1 s")
        try await Task.sleep(for: .seconds(1))
        let written = try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker)

        // A byte every 16 ms: the body is complete about 2 s after its head, past the 1 s ack
        // timeout and well within the 10 s request timeout.
        let late = try signedPushParts(id: "late")
        let outcome = try await RawHTTPConnection.trickle(port: gateway.port, head: late.head, body: late.body, every: .milliseconds(16), for: .seconds(4))
        #expect(outcome.responses.map(\.status) == [503])
        #expect(outcome.responses.first?.json?["error"] as? String == "broker_unavailable")
        #expect(outcome.responses.first?.headers["retry-after"] != nil)
        #expect((outcome.answeredAfter ?? 0) > 1.5, "answered before the whole body was sent")

        // Had it been handed to the producer, it would be written within milliseconds.
        try await Task.sleep(for: .seconds(2))
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == written)
    }

    @Test("a webhook whose sender ends the connection's input before the body is complete gets a JSON 503 with Retry-After, not a 400, and nothing is published")
    func truncatedBodyIsRetriable() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        let push = try signedPushParts(id: "truncated")
        let responses = try await RawHTTPConnection.conversation(
            port: gateway.port,
            steps: [(push.head + push.body.prefix(push.body.count / 2), 1)],
            halfClose: true,
            untilClosed: true
        )
        #expect(responses.map(\.status) == [503])
        #expect(responses.first?.json?["error"] as? String == "incomplete_request")
        #expect(responses.first?.headers["retry-after"] == "1")
        #expect(responses.first?.headers["connection"] == "close")
        #expect(try await recordCount(prefix: gateway.configuration.kafka.topicPrefix, broker: broker) == 0)
    }

    @Test("bytes that are not HTTP get a JSON 400 after the answers owed before them, a header over the limit a JSON 431; both close the connection")
    func malformedHTTP() async throws {
        let (_, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        let garbage = Array("POST /webhooks/github HTTP/1.1\r\nHost: test\r\nNot a header line\r\n\r\n".utf8)
        let pipelined = try await RawHTTPConnection.exchange(port: gateway.port, send: signedPush(id: "before-garbage") + garbage, expect: 2, untilClosed: true)
        #expect(pipelined.map(\.status) == [202, 400])
        #expect(pipelined[0].json?["id"] as? String == "before-garbage")
        #expect(pipelined[1].json?["error"] as? String == "malformed_http")
        #expect(pipelined[1].headers["connection"] == "close")

        let huge = try signedPushParts(id: "huge", extraHeaders: "X-Padding: \(String(repeating: "a", count: 100_000))\r\n")
        let refused = try await RawHTTPConnection.exchange(port: gateway.port, send: huge.head + huge.body, expect: 1, untilClosed: true)
        #expect(refused.map(\.status) == [431])
        #expect(refused[0].json?["error"] as? String == "headers_too_large")

        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="-",status="400"} 1"#))
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="-",status="431"} 1"#))
    }

    @Test("HTTP/1.0 keeps its own connection rules on both paths: closed after each answer unless it asks for keep-alive, which the answer then confirms")
    func http10ConnectionRules() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }

        // Without keep-alive: the answer says close and the connection closes (a client like `ab`
        // waits for that), so what followed is not served; the router's answer alike.
        let closing = try signedPush(id: "ten-close", version: "HTTP/1.0") + signedPush(id: "ten-after", version: "HTTP/1.0")
        let webhook = try await RawHTTPConnection.exchange(port: gateway.port, send: closing, expect: 1, untilClosed: true)
        #expect(webhook.map(\.status) == [202])
        #expect(webhook.map { $0.headers["connection"] } == ["close"])
        let health = try await RawHTTPConnection.exchange(port: gateway.port, send: Array("GET /healthz HTTP/1.0\r\n\r\n".utf8), expect: 1, untilClosed: true)
        #expect(health.map(\.status) == [200])
        #expect(health.map { $0.headers["connection"] } == ["close"])

        // With keep-alive the connection serves the next request; HTTP/1.1's close in another
        // spelling closes it after the router's answer too.
        let keepAlive = try signedPush(id: "ten-keep", version: "HTTP/1.0", extraHeaders: "Connection: keep-alive\r\n")
        let steps: [(send: [UInt8], expect: Int)] = [
            (keepAlive, 1),
            (Array("GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n".utf8), 1),
            (Array("GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: Close\r\n\r\n".utf8), 1),
        ]
        let kept = try await RawHTTPConnection.conversation(port: gateway.port, steps: steps, untilClosed: true)
        #expect(kept.map(\.status) == [202, 200, 200])
        #expect(kept.map { $0.headers["connection"] } == ["keep-alive", "keep-alive", "close"])
        #expect(try await publishedIDs(gateway, broker: broker, expect: 2) == ["ten-close", "ten-keep"])
    }

    @Test("a client that sends Expect: 100-continue gets 100 Continue before it sends the body; over the limit, 413 without it; over HTTP/1.0, none")
    func expectContinue() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }
        let configuration = gateway.configuration

        // The client sends the body only after the 100: without it, this waits out the read timeout and fails.
        let push = try signedPushParts(id: "continued", extraHeaders: "Expect: 100-continue\r\n")
        let responses = try await RawHTTPConnection.conversation(port: gateway.port, steps: [(push.head, 1), (push.body, 1)])
        #expect(responses.map(\.status) == [100, 202])
        #expect(responses[1].json?["id"] as? String == "continued")
        #expect(try await publishedIDs(gateway, broker: broker, expect: 1) == ["continued"])

        // Announced over max_body_bytes: refused before the body, so no 100.
        let tooLarge = try signedPushParts(id: "too-large", contentLength: configuration.gateway.maxBodyBytes + 1, extraHeaders: "Expect: 100-continue\r\n")
        let refused = try await RawHTTPConnection.conversation(port: gateway.port, steps: [(tooLarge.head, 1)])
        #expect(refused.map(\.status) == [413])
        #expect(refused[0].json?["error"] as? String == "body_too_large")

        // HTTP/1.0 has no 100 Continue: the expectation is ignored (RFC 9110, 10.1.1).
        let old = try signedPush(id: "continued-1.0", version: "HTTP/1.0", extraHeaders: "Expect: 100-continue\r\n")
        let answered = try await RawHTTPConnection.exchange(port: gateway.port, send: old, expect: 1, untilClosed: true)
        #expect(answered.map(\.status) == [202])
    }

    /// An `Expect` other than `100-continue` goes through Hummingbird's router, which answers the
    /// 413 before the body and then waits to read it: a client that half-closes instead (as one
    /// that waits for a 100 would) must get that one answer and a close, not a second one for the
    /// body cut short. (A client that half-closes before the 413 arrives still gets Hummingbird's
    /// 400 after it: the router may be reading that body, and is given the error.)
    @Test("through the router, an announced oversize body is answered 413 once, and a client that then half-closes gets no second answer")
    func oversizeThroughTheRouterIsAnsweredOnce() async throws {
        let (_, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }
        let tooLarge = try signedPushParts(
            id: "routed-too-large", contentLength: gateway.configuration.gateway.maxBodyBytes + 1, extraHeaders: "Expect: something-else\r\n"
        )
        // As curl does: the head, the 413, then the client gives up on sending the body.
        let answers = try await RawHTTPConnection.conversation(port: gateway.port, steps: [(tooLarge.head, 1), ([], 0)], halfClose: true, untilClosed: true)
        #expect(answers.map(\.status) == [413])
        #expect(answers.first?.json?["error"] as? String == "body_too_large")
    }

    // The body never ends: a gateway that buffered it all before checking would never answer.
    @Test("a chunked body that passes max_body_bytes is refused 413 while it is still arriving")
    func oversizeBodyRefusedWhileReading() async throws {
        let (broker, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }
        let configuration = gateway.configuration
        var request = Array(
            "POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nX-GitHub-Event: push\r\n\r\n".utf8
        )
        let chunks = configuration.gateway.maxBodyBytes / 1024 + 8
        for _ in 0..<chunks {
            request += Array("400\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1024) + Array("\r\n".utf8)
        }
        let responses = try await RawHTTPConnection.exchange(port: gateway.port, send: request, expect: 1)
        #expect(responses.map(\.status) == [413])
        #expect(responses.first?.json?["error"] as? String == "body_too_large")
        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)
    }

    @Test("a graceful shutdown closes idle kept-alive connections at once, one that only carried webhooks and one the router answered on")
    func shutdownClosesIdleConnections() async throws {
        // Idle connections would otherwise stay open until the 60 s request timeout.
        let (broker, gateway) = try await startGitHubGateway(requestTimeoutMs: 60_000)
        let (answered, answer) = AsyncStream.makeStream(of: Void.self)
        /// A connection that stays open once answered, until the server closes it. A failure also
        /// counts as answered, so that the test goes on to report it.
        func idle(_ bytes: [UInt8], answers: Int) -> Task<[RawHTTPConnection.Response], any Error> {
            Task {
                do {
                    return try await RawHTTPConnection.conversation(port: gateway.port, steps: [(bytes, answers)], untilClosed: true) { answer.yield() }
                } catch {
                    answer.yield()
                    throw error
                }
            }
        }
        let first = idle(try signedPush(id: "idle-1"), answers: 1)
        let second = idle(try signedPush(id: "idle-2") + Array("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n".utf8), answers: 2)
        var answers = 0
        for await _ in answered {
            answers += 1
            if answers == 2 { break }
        }

        let start = ContinuousClock.now
        await gateway.stop()
        let (one, two) = try await (first.value, second.value)
        let took = ContinuousClock.now - start
        #expect(one.map(\.status) == [202])
        #expect(two.map(\.status) == [202, 200])
        #expect(took < .seconds(10), "the connections closed and the gateway stopped after \(took)")
        #expect(try await publishedIDs(gateway, broker: broker, expect: 2) == ["idle-1", "idle-2"])
    }

    @Test("connections are counted apart from requests: three webhooks on two connections are three requests and two connections, and closed connections leave the open gauge")
    func connectionMetrics() async throws {
        let (_, gateway) = try await startGitHubGateway()
        defer { Task { await gateway.stop() } }
        /// The two connection metrics, read on a connection of its own (which they count).
        func scrapeConnections() async throws -> (total: Int, open: Int) {
            let scrape = Array("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".utf8)
            let text = String(decoding: try #require(try await RawHTTPConnection.exchange(port: gateway.port, send: scrape, expect: 1, untilClosed: true).first).body, as: UTF8.self)
            func value(_ name: String) throws -> Int {
                let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(name + " ") }, "no \(name) in \(text)")
                return Int(try #require(Double(line.split(separator: " ")[1])))  // a gauge reads 1.0
            }
            return (try value("hookline_gateway_connections_total"), try value("hookline_gateway_connections_open"))
        }

        let before = try await scrapeConnections()
        let kept = try signedPush(id: "conn-1") + signedPush(id: "conn-2", extraHeaders: "Connection: close\r\n")
        #expect(try await RawHTTPConnection.exchange(port: gateway.port, send: kept, expect: 2, untilClosed: true).map(\.status) == [202, 202])
        let single = try signedPush(id: "conn-3", extraHeaders: "Connection: close\r\n")
        #expect(try await RawHTTPConnection.exchange(port: gateway.port, send: single, expect: 1, untilClosed: true).map(\.status) == [202])

        let after = try await scrapeConnections()
        // The two webhook connections and this scrape's own.
        #expect(after.total - before.total == 3)
        // Only a scrape's own connection stays open (a closed one may take a moment to be counted).
        let settled = try await eventually(timeout: .seconds(5)) { try await scrapeConnections().open == 1 }
        #expect(settled, "open connections: \(after.open)")
        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="github",status="202"} 3"#))
    }

    @Test("a new connection that sends nothing is closed at request_timeout_ms, not held to the idle timeout")
    func silentConnectionIsClosed() async throws {
        let (_, gateway) = try await startGitHubGateway(requestTimeoutMs: 1000)
        defer { Task { await gateway.stop() } }

        let silent = try await RawHTTPConnection.trickle(port: gateway.port, head: [], body: [], every: .milliseconds(100), for: .seconds(15))
        #expect(silent.closed)
        #expect(silent.responses.isEmpty)
        #expect(silent.seconds > 0.9 && silent.seconds < 10, "closed after \(silent.seconds) s")
    }

    @Test("a kept-alive connection outlives request_timeout_ms while idle: the next webhook on it, as a load balancer sends it a minute later, is answered")
    func keptAliveConnectionOutlivesRequestTimeout() async throws {
        let (broker, gateway) = try await startGitHubGateway(requestTimeoutMs: 1000)
        defer { Task { await gateway.stop() } }

        let connection = try RawHTTPConnection.held(port: gateway.port)
        defer { close(connection) }
        #expect(try await RawHTTPConnection.statuses(on: connection, send: try signedPush(id: "kept-1"), expect: 1) == [202])
        // The idle timeout was the request timeout: the gateway closed the connection here.
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await RawHTTPConnection.statuses(on: connection, send: try signedPush(id: "kept-2"), expect: 1) == [202])
        #expect(try await publishedIDs(gateway, broker: broker, expect: 2) == ["kept-1", "kept-2"])
    }

    @Test("a webhook whose client stops after the head gets a JSON 408 at the request timeout, not a bare close")
    func webhookStalledAfterItsHead() async throws {
        let (broker, gateway) = try await startGitHubGateway(requestTimeoutMs: 1000)
        defer { Task { await gateway.stop() } }
        let push = try signedPushParts(id: "stalled")

        let stalled = try await RawHTTPConnection.trickle(port: gateway.port, head: push.head, body: [], every: .milliseconds(100), for: .seconds(10))
        #expect(stalled.responses.map(\.status) == [408], "closed after \(stalled.seconds) s")
        #expect(stalled.responses.first?.json?["error"] as? String == "request_timeout")
        #expect(stalled.closed)
        // The idle timeout was the request timeout, and fired first: the client saw the
        // connection close without an answer.

        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="github",status="408"} 1"#), "\(metrics.text)")
        #expect(try await recordCount(prefix: gateway.configuration.kafka.topicPrefix, broker: broker) == 0)
    }

    @Test("at gateway.max_connections it stops accepting until a connection closes, then serves the connection that waited")
    func connectionLimit() async throws {
        let broker = try await TestKafka.broker()
        var configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])])
        configuration.gateway.maxConnections = 2
        let gateway = try await RunningGateway.start(configuration)
        defer { Task { await gateway.stop() } }
        let healthz = Array("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n".utf8)

        // Two connections, each answered once and kept open: both were accepted.
        let first = try RawHTTPConnection.held(port: gateway.port)
        let second = try RawHTTPConnection.held(port: gateway.port)
        defer { close(second) }
        #expect(try await RawHTTPConnection.statuses(on: first, send: healthz, expect: 1) == [200])
        #expect(try await RawHTTPConnection.statuses(on: second, send: healthz, expect: 1) == [200])

        // A third waits in the kernel's queue: its health check (answered at once when served)
        // is not answered while both are open, and is once one of them closes.
        let answered = Mutex<ContinuousClock.Instant?>(nil)
        let waiting = Task {
            try await RawHTTPConnection.conversation(port: gateway.port, steps: [(healthz, 1)]) {
                answered.withLock { $0 = .now }
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(answered.withLock { $0 } == nil, "answered while two connections were open")
        let closed = ContinuousClock.now
        close(first)
        #expect(try await waiting.value.map(\.status) == [200])
        let answeredAt = try #require(answered.withLock { $0 })
        #expect(answeredAt >= closed)

        // The connection that waited is an ordinary one: a webhook on a new one is published.
        #expect(try await RawHTTPConnection.exchange(port: gateway.port, send: try signedPush(id: "after"), expect: 1).map(\.status) == [202])
        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.split(separator: "\n").contains { $0.hasPrefix("hookline_gateway_connections_max 2") }, "\(metrics.text)")
        #expect(try await publishedIDs(gateway, broker: broker, expect: 1) == ["after"])
    }

    @Test("with fewer open files than gateway.max_connections needs, it raises its soft limit to the hard one, accepts only what that leaves room for, and waits without spinning while more connect")
    func openFileLimit() async throws {
        let broker = try await TestKafka.broker()
        let prefix = TestKafka.uniqueName("nofile")
        let gateway = try await GatewayProcess.start(
            yaml: """
                kafka: { brokers: "\(broker.bootstrapServers)", topic_prefix: "\(prefix)" }
                gateway: { max_connections: 1000 }
                sources:
                  github: { provider: github, secrets: ["s3cret"] }
                """,
            openFiles: (soft: 100, hard: 128)
        )
        defer { if gateway.process.isRunning { gateway.process.terminate() } }
        let pid = gateway.process.processIdentifier

        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let openFiles = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        #expect(openFiles.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2) == ["128", "128"], "\(openFiles)")
        // 64 descriptors and 4 an event loop (one a core) are kept for other uses.
        let allowed = 128 - 64 - 4 * NIOSingletons.groupLoopCountSuggestion
        let log = try String(contentsOf: gateway.log, encoding: .utf8)
        #expect(log.contains("hookline.connections_allowed=\(max(1, allowed))"), "\(log)")

        // 40 connections more than it may hold: the rest wait in the kernel's queue. Accepting
        // past the open-file limit would fail, and NIO would retry at once, a core's worth of CPU
        // while they wait.
        let connections = try (0..<max(1, allowed) + 40).map { _ in try RawHTTPConnection.held(port: gateway.port) }
        try await Task.sleep(for: .milliseconds(500))
        let before = try cpuTicks(pid)
        try await Task.sleep(for: .seconds(2))
        let spent = try cpuTicks(pid) - before
        #expect(spent < 50, "\(spent) clock ticks of CPU in 2 s, of 200 for a core")
        // The first connection was accepted and is served; the last waits unaccepted: no answer
        // in a second (its read times out).
        let healthz = Array("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
        #expect(try await RawHTTPConnection.statuses(on: connections[0], send: healthz, expect: 1) == [200])
        var second = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(connections[connections.count - 1], SOL_SOCKET, SO_RCVTIMEO, &second, socklen_t(MemoryLayout<timeval>.size))
        let beyond = try? await RawHTTPConnection.statuses(on: connections[connections.count - 1], send: healthz, expect: 1)
        #expect(beyond ?? [] == [], "a connection past the limit was served")
        for fd in connections { close(fd) }

        // Once they have closed, it serves again.
        let signed = try WebhookProviders.sign(provider: "github", WebhookSigningInput(secret: "s3cret", body: githubPush, event: "push", id: "after", timestamp: 0))
        let served = try await httpRequest(.POST, "http://127.0.0.1:\(gateway.port)/webhooks/github", headers: signed.headerFields, body: githubPush)
        #expect(served.status == 202)
    }

    @Test("a request whose body trickles in is cut off at the request timeout: a webhook gets 408 and nothing is published, a routed one is closed")
    func tricklingRequestTimesOut() async throws {
        // A byte every 200 ms keeps Hummingbird's idle timeout (the same 1 s) from ever firing.
        let (broker, gateway) = try await startGitHubGateway(requestTimeoutMs: 1000)
        defer { Task { await gateway.stop() } }
        let configuration = gateway.configuration

        let push = try signedPushParts(id: "trickled")
        // Bounds wide enough for a test run that loads both cores: the idle timeout alone would
        // keep both connections open for the whole 15 s.
        let webhook = try await RawHTTPConnection.trickle(port: gateway.port, head: push.head, body: push.body, every: .milliseconds(200), for: .seconds(15))
        #expect(webhook.responses.map(\.status) == [408])
        #expect(webhook.responses.first?.json?["error"] as? String == "request_timeout")
        #expect(webhook.closed, "answered after \(webhook.answeredAfter ?? -1) s, not closed in \(webhook.seconds) s")
        #expect(webhook.seconds > 0.9 && webhook.seconds < 10, "answered after \(webhook.answeredAfter ?? -1) s, cut off after \(webhook.seconds) s")

        // A request of the router's is cut off too (an unknown source: the router answers 404
        // before the body, then reads the body to reach the next request).
        let routed = try signedPushParts(id: "trickled-routed", path: "/webhooks/nope")
        let router = try await RawHTTPConnection.trickle(port: gateway.port, head: routed.head, body: routed.body, every: .milliseconds(200), for: .seconds(15))
        #expect(router.closed)
        #expect(router.seconds > 0.9 && router.seconds < 10, "cut off after \(router.seconds) s")

        #expect(try await recordCount(prefix: configuration.kafka.topicPrefix, broker: broker) == 0)
        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="github",status="408"} 1"#))
    }

    @Test("the head of a later request on a kept-alive connection must arrive within the request timeout of its first byte: trickled after a webhook or after a health check, it gets a JSON 408 and the connection closes")
    func laterHeadTricklingTimesOut() async throws {
        // The idle timeout (75 s here) counts from the last whole request part, so on its own it
        // would keep both connections open for the whole 15 s.
        let (broker, gateway) = try await startGitHubGateway(requestTimeoutMs: 1000)
        defer { Task { await gateway.stop() } }
        #expect(gateway.configuration.gateway.idleTimeoutMs > 15_000)
        let nextHead = Array("POST /webhooks/github HTTP/1.1\r\nHost: test\r\nX-Padding: \(String(repeating: "a", count: 200))".utf8)

        for (name, first) in [("webhook", try signedPush(id: "before-trickle")), ("health check", Array("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n".utf8))] {
            let trickled = try await RawHTTPConnection.trickle(port: gateway.port, head: first, body: nextHead, every: .milliseconds(100), for: .seconds(15))
            #expect(trickled.responses.map(\.status).last == 408, "\(name): \(trickled.responses.map(\.status))")
            #expect(trickled.responses.last?.json?["error"] as? String == "request_timeout", "\(name)")
            #expect(trickled.closed, "\(name): not closed in \(trickled.seconds) s")
            #expect(trickled.seconds > 0.9 && trickled.seconds < 10, "\(name): cut off after \(trickled.seconds) s")
        }

        #expect(try await publishedIDs(gateway, broker: broker, expect: 1) == ["before-trickle"])
        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="-",status="408"} 2"#), "\(metrics.text)")
    }
}

/// The user and system CPU time process `pid` has used, in clock ticks (100 a second here).
private func cpuTicks(_ pid: Int32) throws -> Int {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
    let start = try #require(stat.range(of: ") ", options: .backwards)).upperBound
    let fields = stat[start...].split(separator: " ")
    return try #require(Int(fields[11])) + #require(Int(fields[12]))
}

private let httpDateFormatter: DateFormatter = {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter
}()

/// A fresh gateway with one `github` source (secret `s3cret`) on the test broker.
private func startGitHubGateway(requestTimeoutMs: Int? = nil) async throws -> (EmbeddedBroker, RunningGateway) {
    let broker = try await TestKafka.broker()
    var configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])])
    if let requestTimeoutMs { configuration.gateway.requestTimeoutMs = requestTimeoutMs }
    let gateway = try await RunningGateway.start(configuration)
    return (broker, gateway)
}

/// How many requests the gateway on `port` has refused 401 so far, from its metrics.
private func refusedCount(port: Int) async throws -> Int {
    let scrape = Array("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n".utf8)
    let text = String(decoding: try #require(try await RawHTTPConnection.exchange(port: port, send: scrape, expect: 1, untilClosed: true).first).body, as: UTF8.self)
    let line = text.split(separator: "\n").first { $0.hasPrefix("hookline_gateway_requests_total{") && $0.contains("status=\"401\"") }
    return line.flatMap { $0.split(separator: " ").last }.flatMap { Int(Double($0) ?? 0) } ?? 0
}

/// The delivery ids (`ce_id`) of the GitHub pushes the gateway published, sorted; waits for `count` of them.
private func publishedIDs(_ gateway: RunningGateway, broker: EmbeddedBroker, expect count: Int) async throws -> [String] {
    let topic = "\(gateway.configuration.kafka.topicPrefix).github.push"
    return try await records(in: topic, broker: broker, expect: count).compactMap { $0.headers.string("ce_id") }.sorted()
}

/// A signed GitHub push as raw HTTP bytes.
private func signedPush(
    id: String,
    secret: String = "s3cret",
    path: String = "/webhooks/github",
    version: String = "HTTP/1.1",
    extraHeaders: String = ""
) throws -> [UInt8] {
    let push = try signedPushParts(id: id, secret: secret, path: path, version: version, extraHeaders: extraHeaders)
    return push.head + push.body
}

/// A signed GitHub push's head and body as raw HTTP bytes; `contentLength` may announce another length.
func signedPushParts(
    id: String,
    secret: String = "s3cret",
    path: String = "/webhooks/github",
    version: String = "HTTP/1.1",
    contentLength: Int? = nil,
    extraHeaders: String = ""
) throws -> (head: [UInt8], body: [UInt8]) {
    let signed = try WebhookProviders.sign(
        provider: "github",
        WebhookSigningInput(secret: secret, body: githubPush, event: "push", id: id, timestamp: Int64(Date().timeIntervalSince1970), configuration: ProviderConfiguration())
    )
    var head = "POST \(path) \(version)\r\nHost: test\r\nContent-Length: \(contentLength ?? githubPush.count)\r\n\(extraHeaders)"
    for field in signed.headerFields {
        head += "\(field.name.rawName): \(field.value)\r\n"
    }
    return (Array((head + "\r\n").utf8), githubPush)
}

/// One blocking TCP connection on loopback that writes bytes and reads HTTP/1.1 responses.
enum RawHTTPConnection {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        /// When ``RawHTTPConnection/conversation(port:steps:halfClose:untilClosed:answered:)`` had it in full.
        var arrived = ContinuousClock.now
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(self.body))) as? [String: Any] }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// `errno` of the system call that failed, where one did.
        var errorNumber: Int32? = nil
    }

    /// Sends `bytes` in one write and reads `count` responses (each with a Content-Length).
    /// With `untilClosed`, also requires the server to close the connection after them.
    static func exchange(port: Int, send bytes: [UInt8], expect count: Int, untilClosed: Bool = false) async throws -> [Response] {
        try await self.conversation(port: port, steps: [(bytes, count)], untilClosed: untilClosed)
    }

    /// Like ``exchange(port:send:expect:untilClosed:)`` in steps: each step's bytes are written
    /// only once the responses of the steps before it have arrived (a `100 Continue` is one).
    /// With `halfClose`, the client shuts down its sending side after the last step's bytes.
    /// `answered` is called once every response has arrived, before waiting for the close.
    static func conversation(
        port: Int,
        steps: [(send: [UInt8], expect: Int)],
        halfClose: Bool = false,
        untilClosed: Bool = false,
        answered: @escaping @Sendable () -> Void = {}
    ) async throws -> [Response] {
        // Blocking calls, on a thread of their own: on the cooperative pool they would starve
        // the gateway running in this process.
        try await onOwnThread {
            let fd = try connected(port: port, readTimeout: timeval(tv_sec: 20, tv_usec: 0))
            defer { close(fd) }
            var received: [UInt8] = []
            var responses: [Response] = []
            var closed = false
            var chunk = [UInt8](repeating: 0, count: 65536)
            var count = 0
            for (index, step) in steps.enumerated() {
                guard step.send.withUnsafeBytes({ Foundation.send(fd, $0.baseAddress, $0.count, 0) }) == step.send.count else {
                    throw Failure(description: "short send")
                }
                count += step.expect
                let last = index == steps.count - 1
                if last, halfClose {
                    shutdown(fd, Int32(SHUT_WR))
                }
                while responses.count < count || (last && untilClosed && !closed) {
                    if case (var response, let used)? = try parse(received) {
                        response.arrived = .now
                        responses.append(response)
                        received.removeFirst(used)
                        if last, responses.count == count { answered() }
                        continue
                    }
                    let n = recv(fd, &chunk, chunk.count, 0)
                    guard n >= 0 else { throw Failure(description: "recv() failed after \(responses.count) responses: \(errno)") }
                    if n == 0 {
                        closed = true
                        guard responses.count >= count || !received.isEmpty else { break }
                        if responses.count < count, try parse(received) == nil { break }
                        continue
                    }
                    received += chunk[0..<n]
                }
                guard responses.count == count else {
                    throw Failure(description: "got \(responses.count) of \(count) responses; unparsed: \(String(decoding: received, as: UTF8.self))")
                }
            }
            guard !untilClosed || (closed && received.isEmpty) else {
                throw Failure(description: "the connection stayed open or sent more: \(String(decoding: received, as: UTF8.self))")
            }
            return responses
        }
    }

    /// Sends `head`, then `body` a byte at a time every `interval`, reading what the server sends,
    /// until it closes the connection or `limit` has passed. Returns the responses, whether the
    /// server closed, the seconds from the head to the close (or to the end), and to the first
    /// response (which tells a late answer from a late close).
    static func trickle(
        port: Int,
        head: [UInt8],
        body: [UInt8],
        every interval: Duration,
        for limit: Duration
    ) async throws -> (responses: [Response], closed: Bool, seconds: Double, answeredAfter: Double?) {
        try await onOwnThread {
            let microseconds = Int(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)
            let fd = try connected(port: port, readTimeout: timeval(tv_sec: microseconds / 1_000_000, tv_usec: microseconds % 1_000_000))
            defer { close(fd) }
            let start = ContinuousClock.now
            _ = head.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            var responses: [Response] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var next = 0
            var answeredAfter: Double?
            while ContinuousClock.now - start < limit {
                if next < body.count {
                    // The server may have closed already: MSG_NOSIGNAL turns SIGPIPE into an error, and the read below sees the close.
                    _ = body[next...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                    next += 1
                }
                let n = recv(fd, &chunk, chunk.count, 0)  // waits at most `interval`
                if n == 0 || (n < 0 && errno == ECONNRESET) {
                    return (responses, true, (ContinuousClock.now - start) / .seconds(1), answeredAfter)
                }
                if n > 0 {
                    received += chunk[0..<n]
                    while let (response, used) = try parse(received) {
                        responses.append(response)
                        received.removeFirst(used)
                        if answeredAfter == nil { answeredAfter = (ContinuousClock.now - start) / .seconds(1) }
                    }
                }
            }
            return (responses, false, (ContinuousClock.now - start) / .seconds(1), answeredAfter)
        }
    }

    /// For thousands of pipelined requests, where ``conversation`` would parse too slowly: sends
    /// `warmUp` and reads its answers, then sends `bytes` from a thread of its own (and with
    /// `halfClose` shuts down the sending side after them), awaits `ready`, and reads until
    /// `count` answers have come, and with `halfClose` until the server closes. Returns each
    /// answer's status, in order, and whether the server closed the connection.
    static func flood(
        port: Int,
        warmUp: (bytes: [UInt8], answers: Int) = ([], 0),
        send bytes: [UInt8],
        halfClose: Bool = false,
        expect count: Int,
        ready: @Sendable () async throws -> Void = {}
    ) async throws -> (warmUp: [Int], statuses: [Int], closed: Bool) {
        let fd = try connected(port: port, readTimeout: timeval(tv_sec: 30, tv_usec: 0), receiveBuffer: 4096)
        defer { close(fd) }
        let warmed = try await onOwnThread {
            _ = warmUp.bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return try statusLines(fd: fd, count: warmUp.answers, untilClosed: false).statuses
        }
        let sender = Thread {
            _ = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        }
        sender.start()
        try await ready()
        let answers = try await onOwnThread { try statusLines(fd: fd, count: count, untilClosed: halfClose) }
        return (warmed, answers.statuses, answers.closed)
    }

    /// The status of every answer read from `fd` until `count` have come (and, with
    /// `untilClosed`, the server has closed), or the read timeout passed.
    private static func statusLines(fd: Int32, count: Int, untilClosed: Bool) throws -> (statuses: [Int], closed: Bool) {
        let marker = Array("HTTP/1.1 ".utf8)
        var statuses: [Int] = []
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while statuses.count < count || untilClosed {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 || (n < 0 && errno == ECONNRESET) { return (statuses, true) }
            guard n > 0 else { break }
            pending += chunk[0..<n]
            var index = 0
            while index + marker.count + 3 <= pending.count {
                if pending[index] == marker[0], pending[index..<index + marker.count].elementsEqual(marker) {
                    let digits = pending[(index + marker.count)..<(index + marker.count + 3)]
                    statuses.append(Int(String(decoding: digits, as: UTF8.self)) ?? -1)
                    index += marker.count + 3
                } else {
                    index += 1
                }
            }
            pending.removeFirst(index)
        }
        return (statuses, false)
    }

    /// Sends `head`, reads its answer, then streams up to `megabytes` MB after it (sends give up
    /// after 5 s each), stopping when a send fails. Returns the answer and how many MB went out.
    static func stream(port: Int, head: [UInt8], megabytes: Int) async throws -> (answer: Response?, megabytesSent: Int) {
        try await onOwnThread {
            let fd = try connected(port: port, readTimeout: timeval(tv_sec: 10, tv_usec: 0))
            defer { close(fd) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = head.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var answer: Response?
            while answer == nil {
                let n = recv(fd, &chunk, chunk.count, 0)
                guard n > 0 else { break }
                received += chunk[0..<n]
                answer = try parse(received)?.0
            }
            let megabyte = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
            var sent = 0
            while sent < megabytes {
                let n = megabyte.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n == megabyte.count else { break }
                sent += 1
            }
            return (answer, sent)
        }
    }

    /// A blocking TCP connection to 127.0.0.1:`port`, open until the caller closes it; the
    /// connection completes in the kernel whether or not the server has accepted it yet.
    static func held(port: Int) throws -> Int32 {
        try connected(port: port, readTimeout: timeval(tv_sec: 20, tv_usec: 0))
    }

    /// Sends `bytes` on the connection `fd` and returns the status of each of the `count` answers.
    static func statuses(on fd: Int32, send bytes: [UInt8], expect count: Int) async throws -> [Int] {
        try await onOwnThread {
            _ = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return try statusLines(fd: fd, count: count, untilClosed: false).statuses
        }
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is refused (ECONNREFUSED), rather than
    /// accepted or failing otherwise.
    static func connectionRefused(port: Int) async throws -> Bool {
        try await onOwnThread {
            do {
                close(try connected(port: port, readTimeout: timeval(tv_sec: 1, tv_usec: 0)))
                return false
            } catch let failure as Failure {
                return failure.errorNumber == ECONNREFUSED
            }
        }
    }

    /// A blocking TCP socket connected to 127.0.0.1:`port`, whose reads wait at most `readTimeout`;
    /// with `receiveBuffer`, the kernel's receive buffer is that small (it doubles it).
    private static func connected(port: Int, readTimeout: timeval, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = readTimeout
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw Failure(description: "connect() failed: \(error)", errorNumber: error)
        }
        return fd
    }

    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// The first complete response in `bytes` and how many bytes it took, or nil when incomplete.
    private static func parse(_ bytes: [UInt8]) throws -> (Response, Int)? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw Failure(description: "bad header line \(line)") }
            headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        let bodyStart = end + separator.count
        guard bytes.count >= bodyStart + length else { return nil }
        return (Response(status: status, headers: headers, body: Array(bytes[bodyStart..<bodyStart + length])), bodyStart + length)
    }
}
