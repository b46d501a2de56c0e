public import CostGuardCore
internal import Synchronization

/// What a reload may change while `serve` runs: the policy and the time between passes.
public struct ServeSettings: Sendable, Equatable {
    /// Time between passes, before jitter.
    public var interval: Duration
    public var policy: PolicyConfiguration

    public init(interval: Duration, policy: PolicyConfiguration) {
        self.interval = interval
        self.policy = policy
    }
}

/// The state the daemon's services share: the current settings (the reload service writes them, the scheduler reads
/// them before each pass) and what the scheduler is doing (the watchdog and the health check read it).
public final class ServeState: Sendable {
    /// What the pass scheduler is doing.
    public enum Phase: Sendable, Equatable {
        /// Before the first pass.
        case starting
        /// A pass is running.
        case passing
        /// Waiting for the next pass.
        case waiting
        /// Stopped: graceful shutdown, no pass will start.
        case stopped
    }

    private let settingsBox: Mutex<ServeSettings>
    private let phaseBox = Mutex(Phase.starting)

    public init(settings: ServeSettings) {
        self.settingsBox = Mutex(settings)
    }

    public var settings: ServeSettings { settingsBox.withLock { $0 } }

    /// Replaces the settings; the next pass and the next wait use them.
    public func update(_ settings: ServeSettings) { settingsBox.withLock { $0 = settings } }

    public var phase: Phase { phaseBox.withLock { $0 } }

    func enter(_ phase: Phase) { phaseBox.withLock { $0 = phase } }
}
