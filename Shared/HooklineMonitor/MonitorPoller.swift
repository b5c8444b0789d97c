import Foundation
import HooklineKafka
import HooklineLag
import Logging
import ServiceLifecycle

/// Every interval: a snapshot of the cluster, judged by a ``LagTracker``, plus the gateways'
/// traffic, published to the ``MonitorState``. Stops at graceful shutdown.
struct MonitorPoller: Service {
    let reader: LagReader
    let configuration: MonitorConfiguration
    let state: MonitorState
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var tracker = LagTracker(evaluator: StatusEvaluator(window: self.configuration.window.inSeconds))
            while !Task.isCancelled {
                let started = ContinuousClock.now
                await self.poll(&tracker)
                try? await Task.sleep(until: started + self.configuration.interval)
            }
        }
    }

    private func poll(_ tracker: inout LagTracker) async {
        let snapshot: LagSnapshot
        do {
            snapshot = try await self.reader.snapshot(knownGroups: self.configuration.knownGroups)
        } catch {
            self.logger.warning("snapshot failed", metadata: ["kafka.error": "\(error)"])
            self.state.fail("\(error)")
            return
        }
        let report = tracker.record(snapshot)
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
