public import ServiceLifecycle

/// Tells systemd the daemon is ready once the services run, and that it is stopping once a graceful shutdown has
/// begun (the pass in flight may still be finishing: `STOPPING=1` lets systemd's stop timeout apply).
public struct SystemdService: Service {
    let notify: @Sendable (String) -> Void

    public init(notify: @escaping @Sendable (String) -> Void) {
        self.notify = notify
    }

    public func run() async throws {
        notify("READY=1\nSTATUS=ready; first pass starting")
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        notify("STOPPING=1\nSTATUS=stopping")
    }
}
