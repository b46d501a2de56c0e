/// A token bucket: `burst` tokens, refilled at `perSecond` (how AWS states its API throttling quotas).
public struct RateQuota: Sendable, Hashable, CustomStringConvertible {
    public var burst: Double
    public var perSecond: Double

    public init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// `"200/5"`: burst 200, 5 per second.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let burst = Double(parts[0]), let rate = Double(parts[1]), burst >= 1, rate > 0,
            burst.isFinite, rate.isFinite
        else { return nil }
        self.init(burst: burst, perSecond: rate)
    }

    public var description: String { "\(Self.format(burst))/\(Self.format(perSecond))" }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// How CostGuard paces its AWS calls (`[rate_limits]` in the configuration file).
public struct RateLimitConfiguration: Sendable, Equatable {
    /// Off: no waiting (throttling answers are still retried with backoff).
    public var enabled = true
    /// The share of each AWS bucket CostGuard may use, in (0, 1]. Default 0.5.
    public var share = 0.5
    /// The account's own quotas where they differ from AWS's defaults (raised quotas, or EMR's figures), keyed
    /// `service:Operation` (`states:ListExecutions`, `elasticmapreduce:ListClusters`) or `service:*`.
    public var quotas: [String: RateQuota] = [:]
    /// The longest region-wide pause after throttling. Default 60 s.
    public var maxPause: Duration = .seconds(60)

    public init() {}
}
