public import CostGuardCore
internal import Synchronization

/// Keeps CostGuard within a share of each AWS throttling bucket, and backs off a whole region when AWS throttles.
///
/// AWS throttles Step Functions and EMR per account, per region and per API with token buckets (a burst capacity
/// and a refill rate), and CostGuard shares those buckets with the workflows it guards. The limiter mirrors each
/// bucket at `share` of its size and rate, so that CostGuard never uses more than that share however many
/// resources a pass covers; calls wait for a token instead of being throttled.
///
/// When AWS throttles anyway (the user's own workflows drained the bucket), every call to that region — any
/// operation, either service — pauses: 1 s after the first throttling answer, doubling with each further one up to
/// `maxPause`, back to 1 s after a success. The retry strategy still retries the throttled call itself.
///
/// Reservations: a call takes its token at once, and the bucket may go negative; the caller then waits for the
/// deficit to refill. Concurrent callers therefore queue fairly without holding a lock while they sleep.
public final class RateLimiter: Sendable {
    public typealias Quota = RateQuota
    public typealias Configuration = RateLimitConfiguration

    /// AWS's default quotas, per account and region.
    ///
    /// Step Functions: the "API action throttling" table of the Step Functions developer guide (quotas page,
    /// as of 2023-06; `us-east-1`, `us-west-2` and `eu-west-1` have larger buckets for some APIs).
    /// DescribeStateMachine and ListMapRuns are not in our copy of that table: assumed like ListStateMachines.
    /// EMR: the per-API figures are published in the General Reference but were not available when this was
    /// written: reads are assumed 50/1 and mutating calls 5/0.5 (the EMR guide's AddInstanceFleet example).
    /// Override any of them with `quotas`.
    public static func defaultQuota(service: String, operation: String, region: String) -> Quota {
        let large = ["us-east-1", "us-west-2", "eu-west-1"].contains(region)
        switch (service, operation) {
        case ("states", "ListExecutions"):
            return large ? Quota(burst: 200, perSecond: 5) : Quota(burst: 100, perSecond: 2)
        case ("states", "DescribeExecution"):
            return large ? Quota(burst: 300, perSecond: 15) : Quota(burst: 250, perSecond: 10)
        case ("states", "GetExecutionHistory"): return Quota(burst: 400, perSecond: 20)
        case ("states", "DescribeStateMachineForExecution"): return Quota(burst: 200, perSecond: 1)
        case ("states", "StopExecution"):
            return large ? Quota(burst: 1000, perSecond: 200) : Quota(burst: 500, perSecond: 25)
        case ("states", _): return Quota(burst: 100, perSecond: 5)
        case ("elasticmapreduce", "TerminateJobFlows"), ("elasticmapreduce", "SetTerminationProtection"),
            ("elasticmapreduce", "CancelSteps"):
            return Quota(burst: 5, perSecond: 0.5)
        case ("elasticmapreduce", _): return Quota(burst: 50, perSecond: 1)
        default: return Quota(burst: 50, perSecond: 5)
        }
    }

    public let configuration: Configuration
    private let clock: @Sendable () -> Double

    private struct Bucket {
        var quota: Quota
        var tokens: Double
        var updated: Double
    }

    private struct Pause {
        var until: Double = 0
        var next: Double = 1
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var pauses: [String: Pause] = [:]
        var waited: Double = 0
        var throttles = 0
    }

    private let state = Mutex(State())

    /// - Parameter clock: monotonic seconds (injected by tests).
    public init(configuration: Configuration = Configuration(), clock: (@Sendable () -> Double)? = nil) {
        self.configuration = configuration
        if let clock {
            self.clock = clock
        } else {
            let start = ContinuousClock.now
            self.clock = {
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            }
        }
    }

    /// The quota CostGuard keeps to for an operation: the account's (configured or AWS's default) × share.
    public func effectiveQuota(service: String, operation: String, region: String) -> Quota {
        let full =
            configuration.quotas["\(service):\(operation)"] ?? configuration.quotas["\(service):*"]
            ?? Self.defaultQuota(service: service, operation: operation, region: region)
        return Quota(burst: max(1, full.burst * configuration.share), perSecond: full.perSecond * configuration.share)
    }

    /// Takes a token for one request and returns how long to wait before sending it (zero when it may go now).
    public func reserve(service: String, operation: String, region: String) -> Duration {
        guard configuration.enabled else { return .zero }
        let now = clock()
        let key = "\(region)|\(service):\(operation)"
        let quota = effectiveQuota(service: service, operation: operation, region: region)
        let seconds = state.withLock { state -> Double in
            var bucket = state.buckets[key] ?? Bucket(quota: quota, tokens: quota.burst, updated: now)
            bucket.tokens = min(quota.burst, bucket.tokens + max(0, now - bucket.updated) * quota.perSecond)
            bucket.updated = now
            bucket.tokens -= 1
            state.buckets[key] = bucket
            let forToken = bucket.tokens >= 0 ? 0 : -bucket.tokens / quota.perSecond
            let forPause = max(0, (state.pauses[region]?.until ?? 0) - now)
            let wait = max(forToken, forPause)
            state.waited += wait
            return wait
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
    }

    /// AWS throttled a call in `region`: pause every call there, longer each time in a row.
    public func recordThrottle(region: String) {
        let now = clock()
        let limit = Double(configuration.maxPause.components.seconds)
        state.withLock { state in
            var pause = state.pauses[region] ?? Pause()
            pause.until = max(pause.until, now + pause.next)
            pause.next = min(limit, pause.next * 2)
            state.pauses[region] = pause
            state.throttles += 1
        }
    }

    /// A call in `region` succeeded: the next throttling starts again from the shortest pause.
    public func recordSuccess(region: String) {
        state.withLock { state in
            if state.pauses[region]?.next != 1 { state.pauses[region]?.next = 1 }
        }
    }

    /// Seconds callers were told to wait so far, and throttling answers seen (for metrics and the benchmark).
    public var totals: (waitedSeconds: Double, throttles: Int) {
        state.withLock { ($0.waited, $0.throttles) }
    }
}
