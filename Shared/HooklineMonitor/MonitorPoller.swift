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
        var gateways: [GatewayTraffic] = []
        for url in self.configuration.gateways {
            gateways.append(await GatewayTraffic.fetch(url, timeout: self.configuration.gatewayTimeout))
        }
        self.state.publish(report, gateways: gateways)
    }
}
