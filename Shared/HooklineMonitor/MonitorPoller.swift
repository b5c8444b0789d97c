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
            while !Task.isCancelled {
                let started = ContinuousClock.now
                await self.poll(&tracker, &recordTimes)
                try? await Task.sleep(until: started + self.configuration.interval)
            }
        }
    }

    private func poll(_ tracker: inout LagTracker, _ recordTimes: inout RecordTimes) async {
        let snapshot: LagSnapshot
        do {
            snapshot = try await self.reader.snapshot(knownGroups: self.configuration.knownGroups)
        } catch {
            self.logger.warning("snapshot failed", metadata: ["kafka.error": "\(error)"])
            self.state.fail("\(error)")
            return
        }
        var report = tracker.record(snapshot)
        await recordTimes.fill(&report)
        let gateways = await self.fetchGateways()
        self.state.publish(report, gateways: gateways)
    }

    /// Every gateway's traffic, asked concurrently (each may take up to the gateway timeout), in
    /// configuration order.
    private func fetchGateways() async -> [GatewayTraffic] {
        let urls = self.configuration.gateways
        let timeout = self.configuration.gatewayTimeout
        return await withTaskGroup(of: (Int, GatewayTraffic).self) { group in
            for (index, url) in urls.enumerated() {
                group.addTask { (index, await GatewayTraffic.fetch(url, timeout: timeout)) }
            }
            var traffic = [GatewayTraffic?](repeating: nil, count: urls.count)
            for await (index, answer) in group { traffic[index] = answer }
            return traffic.compactMap { $0 }
        }
    }
}
