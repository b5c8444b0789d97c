import HooklineKafka
import Prometheus
import Synchronization

/// The consumer's Prometheus metrics, all labelled with the service name.
///
/// `hookline_consumer_events_applied_total`, `…_duplicates_skipped_total`,
/// `…_events_ignored_total`, `…_already_applied_total` (records below the stored offset, read
/// again after a rebalance or a lost Kafka commit), `…_retries_total`, `…_dead_lettered_total`,
/// `…_dead_letter_failures_total` and `…_transaction_failures_total` (each a retry of the same
/// record, with nothing after it applied meanwhile: a count that keeps growing is a stalled
/// service), `…_batch_duration_seconds` (histogram) and `…_lag{topic,partition}` (end offset −
/// next offset of each assigned partition, as this consumer sees it).
package final class ConsumerMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    let applied: Counter
    let duplicates: Counter
    let ignored: Counter
    let alreadyApplied: Counter
    let retries: Counter
    let deadLettered: Counter
    let deadLetterFailures: Counter
    let transactionFailures: Counter
    let batchDuration: DurationHistogram
    private let service: String
    private let lagGauges = Mutex<[TopicPartition: Gauge]>([:])

    private static let batchBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    package init(service: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.service = service
        let labels = [("service", service)]
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.name(name, unit: "total", help: help), labels: labels)
        }
        self.applied = counter("events_applied", "Events whose handler ran and committed.")
        self.duplicates = counter("duplicates_skipped", "Deliveries of an event id already applied, skipped.")
        self.ignored = counter("events_ignored", "Records with no handler for their type, skipped.")
        self.alreadyApplied = counter("already_applied", "Records below the stored offset (applied before), skipped.")
        self.retries = counter("retries", "Handler attempts retried after a transient failure.")
        self.deadLettered = counter("dead_lettered", "Events written to the dead-letter topic.")
        self.deadLetterFailures = counter(
            "dead_letter_failures",
            "Dead-letter writes that failed; the event is retried, and no later one is applied meanwhile."
        )
        self.transactionFailures = counter(
            "transaction_failures",
            "Batch transactions the database failed (disk full, I/O error); the batch is retried, and no later event is applied meanwhile."
        )
        self.batchDuration = registry.makeDurationHistogram(
            descriptor: Self.name("batch_duration", unit: "seconds", help: "Time to apply and commit one batch."),
            labels: labels,
            buckets: Self.batchBuckets
        )
    }

    private static func name(_ metric: String, unit: String?, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hookline", subsystem: "consumer", metricName: metric, unitName: unit ?? "", helpText: help)
    }

    /// Sets the lag of each partition given; partitions no longer assigned lose their series.
    func setLag(_ lag: [TopicPartition: Int64]) {
        let removed = self.lagGauges.withLock { gauges -> [Gauge] in
            var removed: [Gauge] = []
            for (partition, gauge) in gauges where lag[partition] == nil {
                removed.append(gauge)
                gauges[partition] = nil
            }
            for (partition, value) in lag {
                let gauge = gauges[partition] ?? self.registry.makeGauge(
                    descriptor: Self.name("lag", unit: nil, help: "Records between this consumer's next offset and the partition's end."),
                    labels: [("service", self.service), ("topic", partition.topic), ("partition", String(partition.partition))]
                )
                gauges[partition] = gauge
                gauge.set(Double(max(value, 0)))
            }
            return removed
        }
        removed.forEach { self.registry.unregisterGauge($0) }
    }

    /// The Prometheus text exposition of every metric in the registry.
    package func render() -> String {
        self.registry.emitToString()
    }
}
