import Foundation
import HTTPTypes
import HooklineTestSupport
import HooklineWebhooks
import Logging
import NIOHTTP1
import Testing

@testable import HooklineGateway

@Suite("Log throttle")
struct LogThrottleTests {
    @Test("at most linesPerSecond lines a second per source and kind; the next line let through counts those held back")
    func throttles() {
        let throttle = LogThrottle(linesPerSecond: 3)
        let start = ContinuousClock.now
        let first = (0..<5).map { throttle.admit(.refused, source: "github", now: start + .milliseconds($0)) }
        #expect(first == [0, 0, 0, nil, nil])
        // Another source and another kind have windows of their own.
        #expect(throttle.admit(.refused, source: "stripe", now: start) == 0)
        #expect(throttle.admit(.unacknowledged, source: "github", now: start) == 0)
        // A second later: let through again, saying two were held back, once.
        #expect(throttle.admit(.refused, source: "github", now: start + .milliseconds(1000)) == 2)
        #expect(throttle.admit(.refused, source: "github", now: start + .milliseconds(1001)) == 0)
    }

    @Test("a flood of refused webhooks logs a few lines a second; every refusal is either logged or counted on a later line")
    func refusalFlood() async throws {
        let broker = try await TestKafka.broker()
        let logs = LogRecords()
        var logger = logs.logger()
        logger.logLevel = .info
        let gateway = try await RunningGateway.start(
            gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])]),
            logger: logger
        )
        defer { Task { await gateway.stop() } }
        let body = Array(#"{"repository":{"full_name":"octo/hello"}}"#.utf8)
        let tampered = try WebhookProviders.sign(provider: "github", WebhookSigningInput(secret: "wrong", body: body, event: "push", id: "flood", timestamp: 0)).headerFields

        // 60 refusals on 4 connections: far more than 10 in the first second.
        let start = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<15 {
                        statuses.append(try await httpRequest(.POST, "\(gateway.baseURL)/webhooks/github", headers: tampered, body: body).status)
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(statuses.count == 60 && statuses.allSatisfy { $0 == 401 })
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await httpRequest(.POST, "\(gateway.baseURL)/webhooks/github", headers: tampered, body: body).status == 401)
        // The throttle's one-second windows start at a line each, at least a second apart.
        let windows = Int((ContinuousClock.now - start) / .seconds(1)) + 1

        let refusals = logs.all.filter { $0.message == "webhook refused" }
        let held = refusals.compactMap { $0.metadata["hookline.suppressed"].flatMap(Int.init) }.reduce(0, +)
        // At most 10 lines a window (the default rate), whatever the machine's speed.
        #expect(refusals.count <= 10 * windows, "\(refusals.count) lines in \(windows) windows")
        #expect(refusals.count + held == 61, "\(refusals.count) logged, \(held) reported held back")
        #expect(refusals.last?.metadata["hookline.delivery_id"] == "flood")
        let metrics = try await httpRequest(.GET, "\(gateway.baseURL)/metrics")
        #expect(metrics.text.contains(#"hookline_gateway_requests_total{source="github",status="401"} 61"#))
    }
}
