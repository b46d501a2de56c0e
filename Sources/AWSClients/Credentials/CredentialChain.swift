public import AWSSigV4
public import CostGuardCore
internal import Synchronization

/// The default credential chain, with caching and refresh.
///
/// The first call walks the sources in order and keeps the first that is configured; later calls use that source
/// only. Temporary credentials are refreshed when less than `refreshBefore` (5 min) of their life remains; a refresh
/// runs once however many callers ask at the same time (the first caller loads; the others wait for its result, in
/// the actor, without a task of their own). If a refresh fails while the
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
    /// Callers waiting for the refresh in progress (`nil`: none in progress).
    private var waiters: [CheckedContinuation<Result<AWSCredentials, AWSError>, Never>]?
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
        if waiters != nil {
            // A refresh is in progress (the actor is re-entered while it awaits): wait for its result.
            let result = await withCheckedContinuation { waiters?.append($0) }
            return try result.get()
        }
        waiters = []
        let result: Result<AWSCredentials, AWSError>
        do {
            let fresh = try await loadFresh()
            cached = fresh
            self.current.withLock { $0 = fresh }
            result = .success(fresh)
        } catch {
            // Keep working with credentials that are still valid; the next call retries the refresh.
            if let cached, let expiration = cached.expiration, expiration > current {
                result = .success(cached)
            } else {
                result = .failure(error)
            }
        }
        let waiting = waiters ?? []
        waiters = nil
        for waiter in waiting { waiter.resume(returning: result) }
        return try result.get()
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
}
