public import AWSSigV4
public import CostGuardCore
internal import Synchronization

/// The default credential chain, with caching and refresh.
///
/// The first call walks the sources in order and keeps the first that is configured; later calls use that source
/// only. Temporary credentials are refreshed when less than `refreshBefore` (5 min) of their life remains; a refresh
/// runs once however many callers ask at the same time (they wait for the same task). If a refresh fails while the
/// old credentials are still valid, the old ones are used and the next call tries again.
public actor CredentialChain: CredentialProvider {
    public let sources: [any CredentialSource]
    /// Refresh this long before expiry. Default 5 min.
    public let refreshBefore: Duration
    let now: @Sendable () -> Timestamp

    private var chosen: (any CredentialSource)?
    private var cached: AWSCredentials?
    /// `cached`, readable without entering the actor: a call whose credentials need no refresh does not hop to
    /// the actor's executor and back (two thread hand-offs per AWS call otherwise).
    private let current = Mutex<AWSCredentials?>(nil)
    private var inFlight: Task<AWSCredentials, any Error>?
    /// How many times a source was asked to load (for tests and `doctor`).
    public private(set) var loads = 0

    public init(
        sources: [any CredentialSource],
        refreshBefore: Duration = .seconds(300),
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.sources = sources
        self.refreshBefore = refreshBefore
        self.now = now
    }

    /// The name of the source in use, once one was found.
    public var sourceName: String? { chosen?.name }

    public nonisolated func credentials() async throws(AWSError) -> AWSCredentials {
        if let valid = current.withLock({ $0 }), !needsRefresh(valid, at: now()) { return valid }
        return try await refreshed()
    }

    /// The cached credentials, or fresh ones when they need a refresh (one refresh at a time).
    private func refreshed() async throws(AWSError) -> AWSCredentials {
        let current = now()
        if let cached, !needsRefresh(cached, at: current) { return cached }
        if let inFlight {
            return try await Self.await(inFlight)
        }
        let task = Task { try await self.loadFresh() }
        inFlight = task
        defer { inFlight = nil }
        do {
            let fresh = try await Self.await(task)
            cached = fresh
            self.current.withLock { $0 = fresh }
            return fresh
        } catch {
            // Keep working with credentials that are still valid; the next call retries the refresh.
            if let cached, let expiration = cached.expiration, expiration > current { return cached }
            throw error
        }
    }

    private nonisolated func needsRefresh(_ credentials: AWSCredentials, at time: Timestamp) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.since(time) < refreshBefore
    }

    private func loadFresh() async throws(AWSError) -> AWSCredentials {
        loads += 1
        let current = now()
        if let chosen {
            switch try await chosen.load(now: current) {
            case .loaded(let credentials): return credentials
            case .notConfigured(let reason):
                throw AWSError.credentials(chosen.name, "the credentials source went away: \(reason)")
            }
        }
        var tried: [String] = []
        for source in sources {
            switch try await source.load(now: current) {
            case .loaded(let credentials):
                chosen = source
                return credentials
            case .notConfigured(let reason):
                tried.append("\(source.name): \(reason)")
            }
        }
        throw AWSError.credentials(
            "chain",
            "no AWS credentials found. Tried, in order: " + tried.joined(separator: "; ")
                + ". Fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in "
                + "~/.aws/config, or run on EC2/ECS with a role"
        )
    }

    private static func await(_ task: Task<AWSCredentials, any Error>) async throws(AWSError) -> AWSCredentials {
        do {
            return try await task.value
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.credentials("chain", "\(error)")
        }
    }
}
