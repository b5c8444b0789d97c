import HooklineLag
import Prometheus

/// The monitor's `/metrics`, rendered once per snapshot into a fresh registry, so the series of a
/// group, partition or topic that expired or was deleted are simply no longer there.
enum MonitorMetrics {
    static func render(_ report: LagReport, gateways: [GatewayTraffic]) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let status = self.name("consumergroup", "status", help: "Burrow-style status: 0 OK, 1 WARN, 2 STALLED, 3 STOPPED, 4 REWIND.")
        let lag = self.name("consumergroup", "lag", help: "End offset (read_committed) minus committed offset, floored at zero.")
        let lagSeconds = self.name(
            "consumergroup", "lag", unit: "seconds",
            help: "Estimated age of the first unconsumed record; a lower bound when older than the monitor's history."
        )
        for group in report.groups {
            registry.makeGauge(descriptor: status, labels: [("group", group.group)]).set(Int64(group.statusCode))
            for partition in group.partitions {
                // A partition without a commit has no lag to report: no series.
                guard let partitionLag = partition.lag else { continue }
                let labels = [("group", group.group), ("topic", partition.topic), ("partition", String(partition.partition))]
                registry.makeGauge(descriptor: lag, labels: labels).set(partitionLag)
                if let seconds = partition.lagSeconds {
                    registry.makeGauge(descriptor: lagSeconds, labels: labels).set(seconds)
                }
            }
        }
        let end = self.name("topic", "end_offset", help: "The offset the next record will get (read_committed).")
        for topic in report.topics {
            for partition in topic.partitions {
                registry.makeGauge(descriptor: end, labels: [("topic", topic.topic), ("partition", String(partition.partition))]).set(partition.end)
            }
        }
        guard !gateways.isEmpty else { return registry.emitToBuffer() }

        let up = self.name("monitor", "gateway_up", help: "1 when the gateway's /metrics answered at the last look.")
        var classes: [String: Int64] = [:]
        for gateway in gateways {
            registry.makeGauge(descriptor: up, labels: [("gateway", gateway.url)]).set(Int64(gateway.up ? 1 : 0))
            classes.merge(gateway.requests, uniquingKeysWith: +)
        }
        let requests = self.name("monitor", "gateway_requests", unit: "total", help: "Webhook requests over the gateways that answered, by status class.")
        for (statusClass, count) in classes {
            registry.makeCounter(descriptor: requests, labels: [("class", statusClass)]).increment(by: count)
        }
        registry.makeCounter(descriptor: self.name("monitor", "gateway_5xx", unit: "total", help: "Webhook requests answered 5xx over the gateways that answered."))
            .increment(by: classes["5xx"] ?? 0)
        registry.makeCounter(descriptor: self.name("monitor", "gateway_published", unit: "total", help: "Records the broker acknowledged to the gateways that answered."))
            .increment(by: gateways.map(\.published).reduce(0, +))
        return registry.emitToBuffer()
    }

    private static func name(_ subsystem: String, _ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hookline", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }
}
