/// What a journal row is about: a mutating AWS call, or a decision that made none. The raw value is the ledger's
/// `journal.action` text.
public enum JournalAction: String, Sendable, Hashable, CaseIterable {
    /// TerminateJobFlows.
    case terminate
    /// SetTerminationProtection(false), before terminating a protected orphan (`unprotect = true`).
    case unprotect
    /// A dry run's orphan: no call made.
    case wouldTerminate = "would-terminate"
    /// An orphan left for a later pass by the per-pass cap: no call made.
    case deferred
    /// A protected orphan without the `unprotect` opt-in: no call made.
    case protected
    /// A row whose action this version does not know (never written by it): shown, never acted on.
    case unrecognized

    /// The journal action recording a decision that made no call, for the dispositions that are journaled.
    public init?(decision disposition: Disposition) {
        switch disposition {
        case .wouldTerminate: self = .wouldTerminate
        case .deferred: self = .deferred
        case .protected: self = .protected
        default: return nil
        }
    }
}

/// What a journal row announces or records: one mutating AWS call, or a decision that made none.
public struct JournalRecord: Sendable, Hashable {
    public var action: JournalAction
    public var clusterID: String?
    public var executionARN: String?
    public var region: String?
    public var account: String?
    /// `true` when the pass was a dry run (no mutating call is ever made then).
    public var dryRun: Bool
    /// The facts the decision rested on, in words, for the report.
    public var reason: String

    public init(
        action: JournalAction,
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

/// What a journal row is: the announcement of a call (written and committed before it is made), what the call did,
/// or a decision that made no call. The raw value is the ledger's `journal.kind`.
public enum JournalKind: String, Sendable, Hashable, CaseIterable, Codable {
    case intent
    case outcome
    case decision
}

/// How a mutating call ended, as recorded in its outcome row.
public enum CallResult: String, Sendable, Hashable, Codable, CaseIterable {
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
