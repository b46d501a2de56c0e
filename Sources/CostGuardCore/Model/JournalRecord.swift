/// What a journal row announces or records: one mutating AWS call, or a decision that made none.
public struct JournalRecord: Sendable, Hashable {
    /// The action: `terminate`, `unprotect`, `would-terminate`, `deferred`, …
    public var action: String
    public var clusterID: String?
    public var executionARN: String?
    public var region: String?
    public var account: String?
    /// `true` when the pass was a dry run (no mutating call is ever made then).
    public var dryRun: Bool
    /// The facts the decision rested on, in words, for the report.
    public var reason: String

    public init(
        action: String,
        clusterID: String? = nil,
        executionARN: String? = nil,
        region: String? = nil,
        account: String? = nil,
        dryRun: Bool,
        reason: String
    ) {
        self.action = action
        self.clusterID = clusterID
        self.executionARN = executionARN
        self.region = region
        self.account = account
        self.dryRun = dryRun
        self.reason = reason
    }
}

/// How a mutating call ended, as recorded in its outcome row.
public enum CallResult: String, Sendable, Hashable, Codable {
    case succeeded
    case failed
    /// No answer (timeout, connection lost): the next pass re-checks the cluster before anything else.
    case unknown
}

/// How a reconcile pass ended.
public enum PassOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// Completed; nothing needs attention.
    case ok
    /// Completed; orphans remain that were not terminated (dry run, protected, report-only, deferred).
    case attention
    /// Completed with AWS errors: some clusters were left alone because something was uncertain.
    case degraded
    /// Could not run (configuration, ledger, credentials).
    case failed
    /// Stopped before it finished (shutdown, crash found by the next start).
    case interrupted
}
