public import ServiceLifecycle

/// The systemd watchdog: `WATCHDOG=1` every half period while the daemon shows progress, nothing once it does not
/// (a pass hung on a call that never returns), so that systemd restarts it after `WatchdogSec`.
///
/// Progress is `isAlive` (injected: the scheduler waiting between passes, or an AWS call finished within the period).
public struct WatchdogService<C: Clock>: Service where C.Duration == Duration {
    let clock: C
    let period: Duration
    let isAlive: @Sendable () -> Bool
    let notify: @Sendable (String) -> Void

    public init(
        clock: C,
        period: Duration,
        isAlive: @escaping @Sendable () -> Bool,
        notify: @escaping @Sendable (String) -> Void
    ) {
        self.clock = clock
        self.period = period
        self.isAlive = isAlive
        self.notify = notify
    }

    public func run() async throws {
        let clock = self.clock
        let half = period / 2
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if isAlive() { notify("WATCHDOG=1") }
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: half) }
            } catch {
                return
            }
        }
    }
}
