import Foundation
import HooklineLag
import Prometheus

/// The monitor's `/metrics`, rendered once per snapshot into a fresh registry, so the series of a
/// group, partition or topic that expired or was deleted are simply no longer there.
enum MonitorMetrics {
    static func render(_ report: LagReport, gateways: [GatewayTraffic]) -> [UInt8] {
        self.render(report) + self.render(gateways: gateways)
    }

    /// The lag report's series: per group, partition and topic.
    static func render(_ report: LagReport) -> [UInt8] {
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
        // Always present, so an alert can ask for > 0 without also asking whether it exists.
        let unreadable = self.name(
            "monitor", "partitions_unreadable",
            help: "Partitions whose end offset the last snapshot could not read (a leader down); their lag series are missing meanwhile."
        )
        registry.makeGauge(descriptor: unreadable).set(Int64(report.unreadable.count))
        let unreadableGroups = self.name(
            "monitor", "groups_unreadable",
            help: "Groups the last snapshot could not read (their coordinator unavailable); their series show their last look meanwhile."
        )
        registry.makeGauge(descriptor: unreadableGroups).set(Int64(report.unreadableGroups.count))
        // One series per absent group, so that an alert can name the service.
        let absent = self.name(
            "monitor", "group_absent",
            help: "1 for a configured service's group that the cluster neither lists nor knows a member of (\(LagReport.absentReason)); no series for the others."
        )
        for group in report.absentGroups {
            registry.makeGauge(descriptor: absent, labels: [("group", group)]).set(Int64(1))
        }
        return registry.emitToBuffer()
    }

    /// The gateways' series, rendered at every look, also when the cluster's snapshot failed.
    static func render(gateways: [GatewayTraffic]) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        // One series per gateway (labelled with its URL), and none for a gateway that did not
        // answer: a sum over whichever answered would drop when one dies, which Prometheus reads
        // as a counter reset.
        let up = self.name("monitor", "gateway_up", help: "1 when the gateway's /metrics answered at the last look.")
        let requests = self.name("monitor", "gateway_requests", unit: "total", help: "Webhook requests the gateway answered, by status class (its hookline_gateway_requests_total).")
        let errors = self.name("monitor", "gateway_5xx", unit: "total", help: "Webhook requests the gateway answered 5xx.")
        let published = self.name("monitor", "gateway_published", unit: "total", help: "Records the broker acknowledged to the gateway.")
        let inFlight = self.name("monitor", "gateway_records_in_flight", help: "Records the gateway has handed to its producer and the broker has not yet acknowledged (its hookline_gateway_records_in_flight).")
        for gateway in gateways {
            let labels = [("gateway", gateway.url)]
            registry.makeGauge(descriptor: up, labels: labels).set(Int64(gateway.up ? 1 : 0))
            guard gateway.up else { continue }
            for (statusClass, count) in gateway.requests.sorted(by: { $0.key < $1.key }) {
                registry.makeCounter(descriptor: requests, labels: labels + [("class", statusClass)]).increment(by: count)
            }
            registry.makeCounter(descriptor: errors, labels: labels).increment(by: gateway.requests["5xx"] ?? 0)
            registry.makeCounter(descriptor: published, labels: labels).increment(by: gateway.published)
            registry.makeGauge(descriptor: inFlight, labels: labels).set(gateway.inFlight)
        }
        return registry.emitToBuffer()
    }

    /// The monitor's own series, rendered at every scrape so they move while snapshots fail.
    static func renderHealth(lastSuccess: Date, failures: Int, interval: TimeInterval) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(
            descriptor: self.name(
                "monitor", "last_success_timestamp", unit: "seconds",
                help: "Unix time of the last successful snapshot of the cluster (the monitor's start before the first)."
            )
        ).set(lastSuccess.timeIntervalSince1970)
        registry.makeCounter(descriptor: self.name("monitor", "snapshot_failures", unit: "total", help: "Snapshots of the cluster that failed."))
            .increment(by: Int64(failures))
        // What HooklineMonitorStale measures the last success's age against.
        registry.makeGauge(descriptor: self.name("monitor", "interval", unit: "seconds", help: "Seconds between two looks at the cluster."))
            .set(interval)
        return registry.emitToBuffer()
    }

    private static func name(_ subsystem: String, _ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hookline", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }
}
