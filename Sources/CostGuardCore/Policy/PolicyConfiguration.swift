/// What to do with an orphan, per the status its creating execution ended with.
public enum OrphanAction: String, Sendable, Hashable, Codable {
    /// Terminate it (after the grace period and every check).
    case terminate
    /// Report it only.
    case report
}

/// The policy's settings (the `[policy]` table of the config file and the reconcile flags).
public struct PolicyConfiguration: Sendable, Equatable {
    /// Time after the execution ended before acting. Default 15 min.
    public var grace: Duration = .seconds(15 * 60)
    /// Time after the execution ended before acting while it can still be redriven. Default 1 h.
    public var redriveGrace: Duration = .seconds(3600)
    /// How long after its FAILED or TIMED_OUT creator ended a cluster that will end itself (AutoTerminate with a
    /// running step, or an auto-termination policy with a shorter idle timeout) is left to do so. Default 2 h; zero
    /// treats such clusters as any orphan.
    public var selfTerminationWait: Duration = .seconds(2 * 3600)
    /// Action per end status. Defaults: terminate for ABORTED, FAILED, TIMED_OUT; report for SUCCEEDED.
    public var actions: [ExecutionStatus: OrphanAction] = [
        .aborted: .terminate, .failed: .terminate, .timedOut: .terminate, .succeeded: .report,
    ]
    /// Tags that exempt a cluster: key and required value (nil: any value). Default `costguard:exempt = true`.
    public var exemptTags: [ExemptTag] = [ExemptTag(key: "costguard:exempt", value: "true")]
    /// State machine ARN patterns (`*` wildcards) whose clusters are exempt.
    public var exemptStateMachines: [String] = []
    /// Remove termination protection from protected orphans before terminating them. Default `false`.
    public var unprotect = false
    /// At most this many terminations per pass; the rest are deferred. Default 10.
    public var maxTerminationsPerPass = 10
    /// Decide everything, change nothing.
    public var dryRun = false

    public init() {}

    /// A tag that exempts a cluster.
    public struct ExemptTag: Sendable, Hashable {
        public var key: String
        /// The value that exempts; `nil` means any value.
        public var value: String?

        public init(key: String, value: String?) {
            self.key = key
            self.value = value
        }
    }
}
