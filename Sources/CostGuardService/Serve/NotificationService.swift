public import ServiceLifecycle

/// Delivers the outbox while `serve` runs: a round every `interval` on an injected clock, so that a notice the pass
/// wrote goes out within seconds and one that failed goes again when its backoff ends. Graceful shutdown ends the
/// wait at once; a round in flight finishes (what it delivered is recorded).
public struct NotificationService<C: Clock>: Service where C.Duration == Duration {
    let clock: C
    let interval: Duration
    let round: @Sendable () async -> Void

    public init(clock: C, interval: Duration = .seconds(5), round: @escaping @Sendable () async -> Void) {
        self.clock = clock
        self.interval = interval
        self.round = round
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await round()
            guard !Task.isShuttingDownGracefully else { return }
            let clock = self.clock
            let wait = interval
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
        }
    }
}
