public import ServiceLifecycle

/// Serves `/metrics` and `/healthz` from a listener bound before the services start (a port in use is a start-up
/// error, not a failure later), and closes it at shutdown.
public struct MetricsService: Service {
    let server: MetricsServer

    public init(server: MetricsServer) {
        self.server = server
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await server.close()
    }
}
