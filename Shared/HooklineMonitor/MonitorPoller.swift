import Foundation
import HooklineKafka
import HooklineLag
import Logging
import ServiceLifecycle

/// Every interval: a snapshot of the cluster, judged by a ``LagTracker`` (time lags its history
/// cannot tell read from the records, ``RecordTimes``), plus the gateways' traffic, published to
/// the ``MonitorState``. Stops at graceful shutdown.
struct MonitorPoller: Service {
    let reader: LagReader
    let recordTimes: RecordTimes
    let configuration: MonitorConfiguration
    let state: MonitorState
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var tracker = LagTracker(evaluator: StatusEvaluator(window: self.configuration.window.inSeconds))
            var recordTimes = self.recordTimes
            var answering: [String: Bool] = [:]
            var unreadable: [LagReport.Unreadable] = []
            while !Task.isCancelled {
                let started = ContinuousClock.now
                await self.poll(&tracker, &recordTimes, &answering, &unreadable)
                try? await Task.sleep(until: started + self.configuration.interval)
            }
        }
    }

    private func poll(
        _ tracker: inout LagTracker,
        _ recordTimes: inout RecordTimes,
        _ answering: inout [String: Bool],
        _ unreadable: inout [LagReport.Unreadable]
    ) async {
        // The gateways answer (or not) whatever Kafka does, and are read beside the snapshot: a
        // slow one (or a slow name lookup) does not delay it.
        async let looked = self.fetchGateways()
        let snapshot: LagSnapshot
        do {
            snapshot = try await self.reader.snapshot(knownGroups: self.configuration.knownGroups)
        } catch {
            self.logger.warning("snapshot failed", metadata: ["kafka.error": "\(error)"])
            let gateways = await looked
            self.logChanges(gateways, since: &answering)
            self.state.fail("\(error)", gateways: gateways)
            return
        }
        var report = tracker.record(snapshot)
        await recordTimes.fill(&report)
        self.logChanges(report.unreadable, since: &unreadable)
        let gateways = await looked
        self.logChanges(gateways, since: &answering)
        self.state.publish(report, gateways: gateways)
    }

    /// One line when the partitions that cannot be read change, not one every interval.
    private func logChanges(_ partitions: [LagReport.Unreadable], since before: inout [LagReport.Unreadable]) {
        guard partitions != before else { return }
        if partitions.isEmpty {
            self.logger.info("every partition can be read again")
        } else {
            self.logger.warning(
                "partitions left out of the snapshot: their end offset could not be read",
                metadata: ["kafka.partitions": "\(partitions.map { "\($0.topic)[\($0.partition)]: \($0.error)" })"]
            )
        }
        before = partitions
    }

    /// One line when a gateway stops answering, with the reason, and one when it answers again
    /// (a gateway that never answered is logged at the first look), not one every interval.
    private func logChanges(_ gateways: [GatewayTraffic], since answering: inout [String: Bool]) {
        for gateway in gateways where answering[gateway.url] != gateway.up {
            if gateway.up {
                if answering[gateway.url] != nil { self.logger.info("gateway answers again", metadata: ["hookline.gateway": "\(gateway.url)"]) }
            } else {
                self.logger.warning(
                    "gateway's /metrics did not answer; its traffic is left out until it does",
                    metadata: ["hookline.gateway": "\(gateway.url)", "error": "\(gateway.error ?? "unknown")"]
                )
            }
            answering[gateway.url] = gateway.up
        }
    }

    /// Every gateway's traffic, in configuration order (see ``GatewayTraffic/fetchAll(_:timeout:resolve:)``).
    private func fetchGateways() async -> [GatewayTraffic] {
        await GatewayTraffic.fetchAll(self.configuration.gateways, timeout: self.configuration.gatewayTimeout)
    }
}
