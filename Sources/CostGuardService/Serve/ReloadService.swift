public import ServiceLifecycle

/// Reloads the configuration on each request (SIGHUP in production), with the systemd reload protocol around it:
/// `RELOADING=1` + `MONOTONIC_USEC`, then `READY=1` and a status saying whether the new file was accepted. A file
/// that does not load is rejected and the previous settings stay.
public struct ReloadService<Requests: AsyncSequence & Sendable>: Service where Requests.Element: Sendable {
    /// Loads the configuration anew and returns the settings it gives; throws to reject it.
    public typealias Load = @Sendable () throws -> ServeSettings

    let requests: Requests
    let state: ServeState
    let load: Load
    let notify: @Sendable (String) -> Void
    let monotonicMicroseconds: @Sendable () -> UInt64
    let onOutcome: @Sendable (Result<ServeSettings, any Error>) -> Void

    public init(
        requests: Requests,
        state: ServeState,
        load: @escaping Load,
        notify: @escaping @Sendable (String) -> Void,
        monotonicMicroseconds: @escaping @Sendable () -> UInt64 = SystemdNotifier.monotonicMicroseconds,
        onOutcome: @escaping @Sendable (Result<ServeSettings, any Error>) -> Void = { _ in }
    ) {
        self.requests = requests
        self.state = state
        self.load = load
        self.notify = notify
        self.monotonicMicroseconds = monotonicMicroseconds
        self.onOutcome = onOutcome
    }

    public func run() async throws {
        do {
            for try await _ in requests.cancelOnGracefulShutdown() {
                notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())")
                do {
                    let settings = try load()
                    state.update(settings)
                    notify("READY=1\nSTATUS=configuration reloaded")
                    onOutcome(.success(settings))
                } catch {
                    notify("READY=1\nSTATUS=reload rejected (invalid configuration); previous one kept")
                    onOutcome(.failure(error))
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
