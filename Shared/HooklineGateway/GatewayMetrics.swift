import Prometheus
import Synchronization

/// The gateway's Prometheus metrics. A handle is made once per label set and cached, so the
/// request path only looks one up.
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let requests: MetricFamily<RequestKey, Counter>
    private let failures: MetricFamily<ReasonKey, Counter>
    private let published: MetricFamily<String, Counter>
    private let latencies: MetricFamily<String, DurationHistogram>
    private let reloads: MetricFamily<String, Counter>
    private let recordsInFlight: Gauge
    private let ready: Gauge
    private let connections: Counter
    private let connectionsOpen: Gauge
    private let connectionsMax: Gauge

    private struct RequestKey: Hashable {
        var source: String
        var status: Int
    }

    private struct ReasonKey: Hashable {
        var source: String
        var reason: String
    }

    /// Ack latency buckets: sub-millisecond up to the longest ack timeout anyone should configure.
    private static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.requests = MetricFamily { key in
            registry.makeCounter(
                descriptor: Self.name("requests", unit: "total", help: "Webhook requests by source and HTTP status."),
                labels: [("source", key.source), ("status", String(key.status))]
            )
        }
        self.failures = MetricFamily { key in
            registry.makeCounter(
                descriptor: Self.name("verification_failures", unit: "total", help: "Requests refused by signature verification, by reason."),
                labels: [("source", key.source), ("reason", key.reason)]
            )
        }
        self.published = MetricFamily { topic in
            registry.makeCounter(
                descriptor: Self.name("messages_published", unit: "total", help: "Records the broker acknowledged, by topic."),
                labels: [("topic", topic)]
            )
        }
        self.latencies = MetricFamily { source in
            registry.makeDurationHistogram(
                descriptor: Self.name("ack_latency", unit: "seconds", help: "Time from publishing a webhook to the broker's acknowledgement."),
                labels: [("source", source)],
                buckets: Self.latencyBuckets
            )
        }
        self.recordsInFlight = registry.makeGauge(
            descriptor: Self.name(
                "records_in_flight", unit: "", help: "Records handed to the producer and not yet acknowledged or failed, at the scrape."
            )
        )
        self.ready = registry.makeGauge(
            descriptor: Self.name(
                "ready", unit: "", help: "1 when the gateway can take webhooks, as /readyz answered last (a scrape starts a new check for the next); 0 while its broker does not answer or its producer failed."
            )
        )
        self.connections = registry.makeCounter(
            descriptor: Self.name("connections", unit: "total", help: "HTTP connections accepted.")
        )
        self.connectionsOpen = registry.makeGauge(
            descriptor: Self.name("connections_open", unit: "", help: "HTTP connections open.")
        )
        self.connectionsMax = registry.makeGauge(
            descriptor: Self.name(
                "connections_max", unit: "", help: "Most HTTP connections open at once: gateway.max_connections, or fewer if the open-file limit is lower."
            )
        )
        self.reloads = MetricFamily { result in
            registry.makeCounter(
                descriptor: Self.name("config_reloads", unit: "total", help: "Reloads of the sources on SIGHUP, applied or refused."),
                labels: [("result", result)]
            )
        }
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hookline", subsystem: "gateway", metricName: metric, unitName: unit, helpText: help)
    }

    /// `hookline_gateway_requests_total{source,status}`; `source` is `-` for unknown sources.
    func request(source: String, status: Int) {
        self.requests[RequestKey(source: source, status: status)].increment()
    }

    /// `hookline_gateway_verification_failures_total{source,reason}`.
    func verificationFailure(source: String, reason: String) {
        self.failures[ReasonKey(source: source, reason: reason)].increment()
    }

    /// `hookline_gateway_messages_published_total{topic}`.
    func published(topic: String) {
        self.published[topic].increment()
    }

    /// `hookline_gateway_ack_latency_seconds{source}`.
    func ackLatency(source: String, _ duration: Duration) {
        self.latencies[source].record(duration)
    }

    /// `hookline_gateway_connections_total` and `hookline_gateway_connections_open`: against
    /// `hookline_gateway_requests_total`, whether senders (or a proxy in front) keep connections
    /// alive. Here a new connection cost the gateway 60–120 µs of CPU, a webhook on a kept-alive
    /// one about 60 (docs/benchmarks.md).
    func connectionOpened() {
        self.connections.increment()
        self.connectionsOpen.increment()
    }

    func connectionClosed() {
        self.connectionsOpen.decrement()
    }

    /// `hookline_gateway_connections_max`: at this many open connections the gateway stops
    /// accepting until one closes; `hookline_gateway_connections_open` against it is how close
    /// a replica is.
    func connectionLimit(_ limit: Int) {
        self.connectionsMax.set(Int64(limit))
    }

    /// `hookline_gateway_config_reloads_total{result}`: `applied` or `refused`.
    func reload(applied: Bool) {
        self.reloads[applied ? "applied" : "refused"].increment()
    }

    /// The metrics in Prometheus' text format, with `recordsInFlight` (read at the scrape, so the
    /// request path does not count) as `hookline_gateway_records_in_flight`, and `ready` (what
    /// `/readyz` answers) as `hookline_gateway_ready`: a replica its load balancer has taken out
    /// of rotation gets no webhooks to count a 5xx for, so only this says why none arrive.
    func render(recordsInFlight: Int, ready: Bool) -> [UInt8] {
        self.recordsInFlight.set(Int64(recordsInFlight))
        self.ready.set(Int64(ready ? 1 : 0))
        return self.registry.emitToBuffer()
    }
}

/// Metric handles by label set, made on first use.
final class MetricFamily<Key: Hashable & Sendable, Metric: Sendable>: Sendable {
    private let metrics = Mutex<[Key: Metric]>([:])
    private let make: @Sendable (Key) -> Metric

    init(make: @escaping @Sendable (Key) -> Metric) {
        self.make = make
    }

    subscript(key: Key) -> Metric {
        self.metrics.withLock { metrics in
            if let metric = metrics[key] { return metric }
            let metric = self.make(key)
            metrics[key] = metric
            return metric
        }
    }
}
