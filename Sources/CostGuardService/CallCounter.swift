public import AWSClients
internal import Synchronization

/// Counts finished AWS calls by `service.Operation`, and throttled calls, for the pass record and the metrics.
public final class CallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let throttles = Mutex(0)
    private let activity = Mutex(ContinuousClock.now)

    /// When the last AWS call finished (the daemon's watchdog treats this as a sign of life).
    public var lastActivity: ContinuousClock.Instant { activity.withLock { $0 } }

    /// Notes progress that is not an AWS call (a pass started or ended).
    public func touch() { activity.withLock { $0 = .now } }

    public init() {}

    /// Records one finished call.
    public func record(_ call: AWSCallRecord) {
        counts.withLock { $0["\(call.service).\(call.operation)", default: 0] += 1 }
        touch()
        if call.throttles > 0 { throttles.withLock { $0 += call.throttles } }
    }

    /// The counts so far.
    public var snapshot: [String: Int] { counts.withLock { $0 } }
    /// Throttling answers seen so far.
    public var throttled: Int { throttles.withLock { $0 } }

    /// Clears the counts (at the start of a pass).
    public func reset() {
        counts.withLock { $0 = [:] }
        throttles.withLock { $0 = 0 }
    }
}
