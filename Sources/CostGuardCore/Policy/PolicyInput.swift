/// Where a cluster lives: the policy fails closed per scope when that scope's AWS reads were incomplete.
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    public var account: String
    public var region: String

    public init(account: String, region: String) {
        self.account = account
        self.region = region
    }

    public var description: String { "\(account)/\(region)" }
}

/// What the policy knows of an execution.
public struct ExecutionFacts: Sendable, Hashable {
    public var arn: String
    public var stateMachineARN: String
    public var status: ExecutionStatus
    public var stopDate: Timestamp?
    /// `nil` when the API did not say: treated as not redrivable.
    public var redriveStatus: RedriveStatus?
    public var redriveCount: Int
    /// Every event of the history was read and understood.
    public var historyComplete: Bool
    /// The execution no longer exists: its state machine was deleted while it ran (AWS fails such executions at
    /// their next transition and deletes them with the machine). `stopDate` is when CostGuard found it gone.
    public var goneWithStateMachine: Bool
    /// The version and alias ARNs it was started on (empty when started on the state machine itself): exemption
    /// patterns match these too.
    public var qualifiedStateMachineARNs: [String]

    public init(
        arn: String,
        stateMachineARN: String,
        status: ExecutionStatus,
        stopDate: Timestamp? = nil,
        redriveStatus: RedriveStatus? = nil,
        redriveCount: Int = 0,
        historyComplete: Bool = true,
        goneWithStateMachine: Bool = false,
        qualifiedStateMachineARNs: [String] = []
    ) {
        self.qualifiedStateMachineARNs = qualifiedStateMachineARNs
        self.goneWithStateMachine = goneWithStateMachine
        self.arn = arn
        self.stateMachineARN = stateMachineARN
        self.status = status
        self.stopDate = stopDate
        self.redriveStatus = redriveStatus
        self.redriveCount = redriveCount
        self.historyComplete = historyComplete
    }
}

/// What the policy knows of a cluster created by an execution.
public struct ClusterFacts: Sendable, Hashable {
    public var id: String
    public var scope: Scope
    /// The last observed state; `.unknown` when not observed.
    public var state: ClusterState
    /// The state was observed during this pass (ListClusters or DescribeCluster).
    public var observedThisPass: Bool
    /// `nil` until a DescribeCluster said.
    public var terminationProtected: Bool?
    /// The cluster's tags as last described; `nil` until a DescribeCluster said.
    public var tags: [String: String]?
    /// DescribeCluster's `AutoTerminate` (EMR ends the cluster after its last step); `nil` until described.
    public var autoTerminate: Bool?
    /// The cluster's auto-termination policy, as GetAutoTerminationPolicy last said.
    public var autoTerminationPolicy: AutoTerminationPolicy
    public var creator: ExecutionFacts
    /// Other executions whose tasks name this cluster.
    public var referencedBy: [ExecutionFacts]

    public init(
        id: String,
        scope: Scope,
        state: ClusterState,
        observedThisPass: Bool,
        terminationProtected: Bool? = nil,
        tags: [String: String]? = nil,
        autoTerminate: Bool? = nil,
        autoTerminationPolicy: AutoTerminationPolicy = .unread,
        creator: ExecutionFacts,
        referencedBy: [ExecutionFacts] = []
    ) {
        self.autoTerminate = autoTerminate
        self.autoTerminationPolicy = autoTerminationPolicy
        self.id = id
        self.scope = scope
        self.state = state
        self.observedThisPass = observedThisPass
        self.terminationProtected = terminationProtected
        self.tags = tags
        self.creator = creator
        self.referencedBy = referencedBy
    }
}

/// An instance group or fleet a RUNNING execution's task names without naming its cluster.
public struct UnitReference: Sendable, Hashable {
    /// `ig-…` or `if-…`.
    public var unitID: String
    /// The execution, and its task (`aws-sdk:emr:modifyInstanceGroups`).
    public var executionARN: String
    public var resource: String

    public init(unitID: String, executionARN: String, resource: String) {
        self.unitID = unitID
        self.executionARN = executionARN
        self.resource = resource
    }
}

/// A cluster's EMR auto-termination policy (it ends the cluster after an idle timeout).
public enum AutoTerminationPolicy: Sendable, Hashable {
    /// Not read yet (GetAutoTerminationPolicy is read in the re-check of a candidate that may end itself).
    case unread
    /// The cluster has none.
    case none
    /// EMR terminates the cluster after it has been idle this long.
    case idleTimeout(Duration)
}

/// A termination AWS refused (an SCP, a tag condition, a validation error): the cluster is set aside until
/// `retryAt`, so that one refusal does not hold up the others.
public struct Refusal: Sendable, Hashable {
    /// AWS's error code and message.
    public var code: String
    public var message: String
    /// How many refusals in a row, and when the last one came.
    public var count: Int
    public var at: Timestamp
    /// When to try again.
    public var retryAt: Timestamp

    public init(code: String, message: String, count: Int, at: Timestamp, retryAt: Timestamp) {
        self.code = code
        self.message = message
        self.count = count
        self.at = at
        self.retryAt = retryAt
    }

    /// The wait after `count` refusals in a row: 5 minutes, doubling, at most 6 hours.
    public static func backoff(afterRefusals count: Int) -> Duration {
        let minutes = 5 << min(max(count - 1, 0), 7)
        return .seconds(min(minutes, 360) * 60)
    }
}

/// Everything one decision rests on.
public struct PolicyInput: Sendable {
    public var clusters: [ClusterFacts]
    /// Scopes whose reads failed or were partial this pass: nothing there is acted on.
    public var degradedScopes: Set<Scope>
    /// Scopes with a RUNNING execution whose history names a cluster CostGuard could not identify (or could not be
    /// read): any cluster there may be in use, so none is acted on. The value names the holder and why.
    public var uncertainReferenceScopes: [Scope: String]
    /// Terminations AWS refused, by cluster id.
    public var refusals: [String: Refusal]
    /// Clusters running a step that no followed workflow gave them (someone else is using them), by cluster id,
    /// with the step (from the re-check before acting).
    public var busy: [String: String]
    /// Instance groups and fleets named by RUNNING executions whose task did not name the cluster
    /// (`modifyInstanceGroups` by `InstanceGroupId`), by the executions' scope.
    public var unitReferences: [Scope: [UnitReference]]
    /// The instance group and fleet ids of clusters, as the re-check read them this pass.
    public var clusterUnits: [String: Set<String>]
    /// Why no cluster may be acted on this pass (the host's clock is too far from AWS's), or `nil`.
    public var actionsStopped: String?
    /// AWS's time (the host's clock corrected by the offset AWS's answers showed).
    public var now: Timestamp

    public init(
        clusters: [ClusterFacts],
        degradedScopes: Set<Scope> = [],
        uncertainReferenceScopes: [Scope: String] = [:],
        refusals: [String: Refusal] = [:],
        busy: [String: String] = [:],
        unitReferences: [Scope: [UnitReference]] = [:],
        clusterUnits: [String: Set<String>] = [:],
        actionsStopped: String? = nil,
        now: Timestamp
    ) {
        self.unitReferences = unitReferences
        self.clusterUnits = clusterUnits
        self.actionsStopped = actionsStopped
        self.clusters = clusters
        self.degradedScopes = degradedScopes
        self.uncertainReferenceScopes = uncertainReferenceScopes
        self.refusals = refusals
        self.busy = busy
        self.now = now
    }
}

/// The policy's verdict on one cluster.
public struct Decision: Sendable, Hashable {
    /// A mutating action to take.
    public enum Action: Sendable, Hashable {
        /// TerminateJobFlows; first SetTerminationProtection(false) when `unprotectFirst`.
        case terminate(unprotectFirst: Bool)
    }

    /// A fact the policy could not decide without, read by the re-check before acting.
    public enum Pending: Sendable, Hashable {
        /// DescribeCluster: its termination protection is not known.
        case clusterDescription
        /// GetAutoTerminationPolicy: the cluster may end itself, and its policy is not known.
        case autoTerminationPolicy
        /// ListInstanceGroups / ListInstanceFleets: a RUNNING execution in its scope names an instance group or fleet
        /// without its cluster, and this cluster's were not read this pass.
        case instanceGroups
    }

    public var clusterID: String
    public var scope: Scope
    public var disposition: Disposition
    /// Why, in words, for the journal and the report.
    public var reason: String
    public var action: Action?
    /// What the policy still needs to decide: the pass reads it in the re-check, then decides again. Set only with
    /// `unknown`.
    public var pending: Pending?
    /// When the cluster became an orphan: the later of its creator's stop and its last reference's stop.
    public var orphanedSince: Timestamp?
    /// For `grace`: when the grace (or the redrive grace) ends and the cluster may be terminated, facts unchanged.
    public var actAfter: Timestamp? = nil
}

/// Parts of a Step Functions execution ARN.
public enum ExecutionARN {
    /// The account in an ARN (`arn:aws:states:us-east-1:123456789012:execution:…`); empty when there is none.
    /// On the UTF-8 bytes: a pass asks for every listed state machine's, and splitting into Characters cost more than
    /// the rest of the listing's bookkeeping.
    public static func account(of arn: String) -> String {
        let parts = arn.utf8.split(separator: UInt8(ascii: ":"), maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count > 4 ? String(Substring(parts[4])) : ""
    }
}
