/// What CostGuard concluded about a cluster, as shown in the report.
public enum Disposition: String, Sendable, Hashable, CaseIterable, Codable {
    /// Billing, its workflow ended, nothing live references it, and the policy says terminate: about to act.
    case orphan
    /// CostGuard terminated it.
    case terminated
    /// A dry run would have terminated it.
    case wouldTerminate = "would-terminate"
    /// An orphan with termination protection and no `unprotect` opt-in.
    case protected
    /// Exempt by tag or by state machine pattern.
    case exempt
    /// Its creator ended, but a RUNNING execution still references it.
    case shared
    /// Its creating execution is still running.
    case live
    /// Its workflow ended less than the grace period ago (or is redrivable within the redrive grace).
    case grace
    /// An orphan left for a later pass because this pass reached its termination cap.
    case deferred
    /// An orphan whose execution status is configured `report` (SUCCEEDED by default).
    case reportOnly = "report-only"
    /// Something needed for a decision is not known (history incomplete, API error): never acted on.
    case unknown
    /// The cluster ended by other means (the workflow, a person, EMR): nothing to do.
    case ended
    /// Its creator FAILED or TIMED_OUT, and the cluster will end itself (AutoTerminate after its running step, or an
    /// auto-termination policy's idle timeout): left to do so for the self-termination wait, not killed mid-step.
    case selfTerminating = "self-terminating"

    /// Hashes the case, not its name: a raw-value enum hashes its raw string by default, and a pass hashes each
    /// decision's disposition a few times (counts, the journaled and costed sets).
    public func hash(into hasher: inout Hasher) {
        let ordinal: UInt8 =
            switch self {
            case .orphan: 0
            case .terminated: 1
            case .wouldTerminate: 2
            case .protected: 3
            case .exempt: 4
            case .shared: 5
            case .live: 6
            case .grace: 7
            case .deferred: 8
            case .reportOnly: 9
            case .unknown: 10
            case .ended: 11
            case .selfTerminating: 12
            }
        hasher.combine(ordinal)
    }
}
