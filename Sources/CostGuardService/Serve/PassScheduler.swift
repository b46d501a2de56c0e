public import ServiceLifecycle

/// Runs a reconcile pass, waits the interval (±10 % jitter), and again, until graceful shutdown.
///
/// A graceful shutdown (SIGTERM) never interrupts a pass: the pass in flight finishes, then the scheduler returns;
/// during the wait it returns at once. Time is the injected clock's, so tests drive the waits with a manual clock.
public struct PassScheduler<C: Clock>: Service where C.Duration == Duration {
    /// One pass with the current settings; errors are its own to report (a failed pass does not stop the daemon).
    public typealias Pass = @Sendable (ServeSettings) async -> Void

    let clock: C
    let state: ServeState
    let jitter: @Sendable () -> Double
    let beforePass: @Sendable () -> Void
    let pass: Pass

    /// - Parameters:
    ///   - jitter: the factor applied to each wait (default: uniform in 0.9…1.1, so that many daemons spread out).
    ///   - beforePass: runs before the phase becomes `.passing` (the daemon notes progress there, so that the
    ///     watchdog measures a pass's silence from its start).
    public init(
        clock: C,
        state: ServeState,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.9...1.1) },
        beforePass: @escaping @Sendable () -> Void = {},
        pass: @escaping Pass
    ) {
        self.clock = clock
        self.state = state
        self.jitter = jitter
        self.beforePass = beforePass
        self.pass = pass
    }

    public func run() async throws {
        defer { state.enter(.stopped) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            beforePass()
            state.enter(.passing)
            await pass(state.settings)
            state.enter(.waiting)
            guard !Task.isShuttingDownGracefully else { return }
            let wait = state.settings.interval * jitter()
            let clock = self.clock
            // Ends at the deadline, or at once on graceful shutdown (or cancellation); either way the loop decides.
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
        }
    }
}
