public import CostGuardCore

/// What a pass asks of Step Functions. `SFNClient` is the real one; the service tests run passes in-process against
/// a fake that keeps its world in memory.
public protocol StepFunctionsAPI: Sendable {
    /// `ListStateMachines`, every page.
    func listStateMachines() -> PageSequence<SFN.ListStateMachinesOutput>
    func describeStateMachine(_ arn: String) async throws(AWSError) -> SFN.DescribeStateMachineOutput
    /// `ListStateMachineVersions`, every page.
    func listStateMachineVersions(_ arn: String) -> PageSequence<SFN.ListStateMachineVersionsOutput>
    /// `ListExecutions`, newest first.
    func listExecutions(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus?,
        pageSize: Int
    ) -> PageSequence<SFN.ListExecutionsOutput>
    /// `ListExecutions(redriveFilter: REDRIVEN)`.
    func listRedrivenExecutions(_ stateMachine: String) -> PageSequence<SFN.ListExecutionsOutput>
    /// One page of `ListExecutions`.
    func listExecutionsPage(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus?,
        pageSize: Int,
        token: String?
    ) async throws(AWSError) -> SFN.ListExecutionsOutput
    func describeExecution(_ arn: String) async throws(AWSError) -> SFN.DescribeExecutionOutput
    /// `GetExecutionHistory`, oldest first, from `startToken` when given.
    func getExecutionHistory(
        _ arn: String,
        startToken: String?,
        pageSize: Int
    ) -> PageSequence<SFN.GetExecutionHistoryOutput>
    /// AWS's clock minus this host's, as the last answer showed it (`nil` before any).
    var observedClockOffset: Duration? { get }
}

extension StepFunctionsAPI {
    /// `ListExecutions`, 1000 per page.
    public func listExecutions(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus? = nil
    ) -> PageSequence<SFN.ListExecutionsOutput> {
        listExecutions(parent, status: status, pageSize: 1000)
    }

    /// `GetExecutionHistory`, 500 events per page.
    public func getExecutionHistory(
        _ arn: String,
        startToken: String? = nil
    ) -> PageSequence<SFN.GetExecutionHistoryOutput> {
        getExecutionHistory(arn, startToken: startToken, pageSize: 500)
    }
}

/// What a pass asks of EMR. `EMRClient` is the real one; the service tests use an in-process fake.
public protocol EMRAPI: Sendable {
    /// `ListClusters`, every page.
    func listClusters(
        states: [ClusterState]?,
        createdAfter: Timestamp?,
        createdBefore: Timestamp?
    ) -> PageSequence<EMR.ListClustersOutput>
    func describeCluster(_ id: String) async throws(AWSError) -> EMR.Cluster
    /// `TerminateJobFlows`; returns the request id.
    func terminateJobFlows(_ ids: [String]) async throws(AWSError) -> String?
    /// `SetTerminationProtection`; returns the request id.
    func setTerminationProtection(_ ids: [String], protected: Bool) async throws(AWSError) -> String?
    /// `ListSteps`, every page.
    func listSteps(_ clusterID: String, states: [String]?) -> PageSequence<EMR.ListStepsOutput>
    /// The idle timeout of the cluster's auto-termination policy in seconds, `nil` when it has none.
    func autoTerminationPolicy(_ clusterID: String) async throws(AWSError) -> Int?
    /// `ListInstanceGroups`, every page.
    func listInstanceGroups(_ clusterID: String) -> PageSequence<EMR.ListInstanceGroupsOutput>
    /// `ListInstanceFleets`, every page.
    func listInstanceFleets(_ clusterID: String) -> PageSequence<EMR.ListInstanceFleetsOutput>
}

extension EMRAPI {
    /// `ListClusters` in these states.
    public func listClusters(states: [ClusterState]?) -> PageSequence<EMR.ListClustersOutput> {
        listClusters(states: states, createdAfter: nil, createdBefore: nil)
    }
}

extension SFNClient: StepFunctionsAPI {
    public var observedClockOffset: Duration? { client.context.observedClockOffset }
}

extension EMRClient: EMRAPI {}
