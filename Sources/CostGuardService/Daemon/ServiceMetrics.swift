public import AWSClients
public import CostGuardCore
public import CostGuardLedger
internal import Metrics
internal import Synchronization

/// The daemon's metrics, recorded through swift-metrics (the executable bootstraps the Prometheus backend).
///
/// - `costguard_passes_total{outcome}`, `costguard_pass_duration_seconds`
/// - `costguard_aws_calls_total{service,operation,outcome}`, `costguard_aws_throttles_total`
/// - `costguard_clusters{disposition}`, `costguard_terminations_total`
/// - `costguard_orphan_cost_per_hour_usd`, `costguard_last_successful_pass_timestamp_seconds`
/// - `costguard_notices_total{channel,outcome}`, `costguard_notices_pending`, `costguard_notices_failed`
public final class ServiceMetrics: Sendable {
    private let passDuration = Metrics.Timer(label: "costguard_pass_duration_seconds", preferredDisplayUnit: .seconds)
    private let terminations = Counter(label: "costguard_terminations_total")
    private let throttles = Counter(label: "costguard_aws_throttles_total")
    private let orphanCost = Gauge(label: "costguard_orphan_cost_per_hour_usd")
    private let lastSuccess = Gauge(label: "costguard_last_successful_pass_timestamp_seconds")
    private let knownDispositions = Mutex<Set<String>>([])
    /// The call counters by service, operation and outcome: made once each (making one asks the backend's
    /// registry, a lookup by label and dimensions, on every call otherwise).
    private let callCounters = Mutex<[CallKey: Counter]>([:])

    private struct CallKey: Hashable {
        var service: String
        var operation: String
        var outcome: String
    }

    public init() {}

    /// Records one finished AWS call.
    public func record(_ call: AWSCallRecord) {
        let key = CallKey(service: call.service, operation: call.operation, outcome: call.outcome)
        let counter = callCounters.withLock { counters in
            if let known = counters[key] { return known }
            let made = Counter(
                label: "costguard_aws_calls_total",
                dimensions: [
                    ("service", call.service), ("operation", call.operation), ("outcome", call.outcome),
                ]
            )
            counters[key] = made
            return made
        }
        counter.increment()
        if call.throttles > 0 { throttles.increment(by: call.throttles) }
    }

    /// Records a finished pass.
    public func record(_ summary: PassSummary, duration: Duration, orphanCostPerHour: Double?, now: Timestamp) {
        Counter(label: "costguard_passes_total", dimensions: [("outcome", summary.outcome.rawValue)]).increment()
        passDuration.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        )
        if !summary.terminated.isEmpty { terminations.increment(by: summary.terminated.count) }
        let seen = knownDispositions.withLock { known -> Set<String> in
            known.formUnion(summary.dispositions.keys.map(\.rawValue))
            return known
        }
        for disposition in seen {
            let count = summary.dispositions[Disposition(rawValue: disposition) ?? .unknown] ?? 0
            Gauge(label: "costguard_clusters", dimensions: [("disposition", disposition)]).record(count)
        }
        if let orphanCostPerHour { orphanCost.record(orphanCostPerHour) }
        if summary.outcome != .degraded && summary.outcome != .failed { lastSuccess.record(now.secondsSinceEpoch) }
    }

    /// Records one delivery attempt of a notice: `delivered`, `retry` or `failed`.
    public func recordNotice(channel: NoticeChannel, outcome: String) {
        Counter(
            label: "costguard_notices_total",
            dimensions: [("channel", channel.rawValue), ("outcome", outcome)]
        ).increment()
    }

    /// Records the outbox: notices waiting, and notices given up (a delivery failing for good).
    public func recordPendingNotices(_ counts: NoticeStore.Counts) {
        Gauge(label: "costguard_notices_pending").record(counts.pending)
        Gauge(label: "costguard_notices_failed").record(counts.failed)
    }

    /// Records a pass that could not run (ledger failure).
    public func recordFailedPass() {
        Counter(label: "costguard_passes_total", dimensions: [("outcome", "failed")]).increment()
    }
}
