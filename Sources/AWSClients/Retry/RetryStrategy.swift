internal import Synchronization

/// The SDKs' "standard" retry mode: a capped number of attempts, full-jitter exponential backoff, and a retry
/// quota shared by every call of one client, so that an outage does not turn into a retry storm.
///
/// Backoff before retry *n* (1-based) is `random(0, 1) × 2ⁿ⁻¹` seconds, capped at `maxBackoff` (20 s):
///
/// | retry | upper bound |
/// |---|---|
/// | 1 | 1 s |
/// | 2 | 2 s |
/// | 3 | 4 s |
/// | 5 | 16 s |
/// | 6+ | 20 s |
///
/// The quota starts at 500 tokens; a retry costs 5 (10 after a timeout); a success refunds what its retries cost,
/// or adds 1 when it needed none. With the quota empty, failures are returned at once.
public final class RetryStrategy: Sendable {
    /// Settings.
    public struct Configuration: Sendable {
        /// Attempts per call, the first included. Default 3 (`AWS_MAX_ATTEMPTS`, profile `max_attempts`).
        public var maxAttempts = 3
        /// Ceiling of one backoff. Default 20 s.
        public var maxBackoff: Duration = .seconds(20)
        /// Quota capacity. Default 500.
        public var quotaCapacity = 500
        public var retryCost = 5
        public var timeoutRetryCost = 10

        public init() {}
    }

    public let configuration: Configuration
    private let quota: Mutex<Int>

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.quota = Mutex(configuration.quotaCapacity)
    }

    /// Tokens left in the retry quota.
    public var availableQuota: Int { quota.withLock { $0 } }

    /// Decides whether attempt `attempt` (1-based) may be retried.
    ///
    /// - Parameters:
    ///   - attempt: the attempt that just failed.
    ///   - decision: how the failure was classified.
    ///   - idempotent: whether the operation may be repeated safely.
    ///   - isTimeout: the failure was a timeout (costs more quota).
    ///   - random: a number in `0..<1` (injected for tests).
    /// - Returns: the wait before the next attempt and the quota it cost, or `nil` to give up.
    public func retry(
        after attempt: Int,
        decision: RetryClassifier.Decision,
        idempotent: Bool,
        isTimeout: Bool,
        random: Double
    ) -> (delay: Duration, cost: Int)? {
        guard attempt < configuration.maxAttempts else { return nil }
        switch decision {
        case .fatal, .clockSkew: return nil
        case .transient where !idempotent: return nil
        case .throttled, .transient: break
        }
        let cost = isTimeout ? configuration.timeoutRetryCost : configuration.retryCost
        let granted = quota.withLock { tokens -> Bool in
            guard tokens >= cost else { return false }
            tokens -= cost
            return true
        }
        guard granted else { return nil }
        return (Self.backoff(retry: attempt, random: random, cap: configuration.maxBackoff), cost)
    }

    /// Records a success: refunds the quota its retries took, or adds one token if it took none.
    public func recordSuccess(retryCost: Int) {
        quota.withLock { tokens in
            tokens = min(configuration.quotaCapacity, tokens + (retryCost > 0 ? retryCost : 1))
        }
    }

    /// `min(random × 2^(retry-1), cap)`.
    public static func backoff(retry: Int, random: Double, cap: Duration) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let seconds = random * Double(1 << exponent)
        let capped = min(seconds, Double(cap.components.seconds))
        return .milliseconds(Int64(capped * 1000))
    }
}
