/// Whether the daemon shows progress, for the systemd watchdog and `/healthz`: it is alive while it waits between
/// passes, and during a pass while AWS calls keep finishing (a call that never returns stops the signs of life).
public struct Liveness<C: Clock>: Sendable where C.Duration == Duration {
    let clock: C
    let state: ServeState
    let lastActivity: @Sendable () -> C.Instant

    /// - Parameter lastActivity: when the last AWS call finished (or the last pass started or ended).
    public init(clock: C, state: ServeState, lastActivity: @escaping @Sendable () -> C.Instant) {
        self.clock = clock
        self.state = state
        self.lastActivity = lastActivity
    }

    /// Alive within `period`: not in a pass, or in one whose last activity is more recent than `period`.
    public func isAlive(within period: Duration) -> Bool {
        state.phase != .passing || lastActivity().duration(to: clock.now) < period
    }

    /// Why `/healthz` answers 503 (no progress for `stale`), or `nil` when healthy.
    public func healthProblem(stale: Duration) -> String? {
        isAlive(within: stale) ? nil : "no progress for \(lastActivity().duration(to: clock.now))"
    }
}
