public import CostGuardCore

/// Amazon EMR (awsJson1_1).
public struct EMRClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    /// The most clusters one `TerminateJobFlows` call accepts.
    public static let terminateBatchLimit = 10

    struct ListClustersInput: Encodable {
        var states: [String]?
        var createdAfter: Timestamp?
        var createdBefore: Timestamp?
        var marker: String?
        enum CodingKeys: String, CodingKey {
            case states = "ClusterStates"
            case createdAfter = "CreatedAfter"
            case createdBefore = "CreatedBefore"
            case marker = "Marker"
        }
    }

    /// `ListClusters` (50 per page, unsorted), filtered by state and creation time on the server.
    public func listClusters(
        states: [ClusterState]? = nil,
        createdAfter: Timestamp? = nil,
        createdBefore: Timestamp? = nil
    ) -> PageSequence<EMR.ListClustersOutput> {
        PageSequence(operation: "ListClusters") { marker async throws(AWSError) in
            let page: EMR.ListClustersOutput = try await client.callJSON(
                "ListClusters",
                ListClustersInput(
                    states: states?.map(\.rawValue),
                    createdAfter: createdAfter,
                    createdBefore: createdBefore,
                    marker: marker
                )
            )
            return (page, page.marker)
        }
    }

    struct ClusterInput: Encodable {
        var clusterId: String
        var marker: String?
        enum CodingKeys: String, CodingKey {
            case clusterId = "ClusterId"
            case marker = "Marker"
        }
    }

    /// `DescribeCluster`.
    public func describeCluster(_ id: String) async throws(AWSError) -> EMR.Cluster {
        let output: EMR.DescribeClusterOutput = try await client.callJSON(
            "DescribeCluster",
            ClusterInput(clusterId: id)
        )
        return output.cluster
    }

    struct JobFlowsInput: Encodable {
        var jobFlowIds: [String]
        var terminationProtected: Bool?
        enum CodingKeys: String, CodingKey {
            case jobFlowIds = "JobFlowIds"
            case terminationProtected = "TerminationProtected"
        }
    }

    /// `TerminateJobFlows` for at most 10 clusters. Terminating a cluster that is already terminating or terminated
    /// succeeds, so the call is safe to retry.
    ///
    /// - Returns: the request id, for the journal.
    @discardableResult
    public func terminateJobFlows(_ ids: [String]) async throws(AWSError) -> String? {
        precondition(!ids.isEmpty && ids.count <= Self.terminateBatchLimit, "TerminateJobFlows takes 1…10 ids")
        return try await client.callJSONReturningRequestID("TerminateJobFlows", JobFlowsInput(jobFlowIds: ids))
    }

    /// `SetTerminationProtection`. Setting the same value twice is harmless, so it is retried like a read.
    @discardableResult
    public func setTerminationProtection(_ ids: [String], protected: Bool) async throws(AWSError) -> String? {
        try await client.callJSONReturningRequestID(
            "SetTerminationProtection",
            JobFlowsInput(jobFlowIds: ids, terminationProtected: protected)
        )
    }

    struct ListStepsInput: Encodable {
        var clusterId: String
        var stepStates: [String]?
        var marker: String?
        enum CodingKeys: String, CodingKey {
            case clusterId = "ClusterId"
            case stepStates = "StepStates"
            case marker = "Marker"
        }
    }

    /// `ListSteps`.
    public func listSteps(_ clusterID: String, states: [String]? = nil) -> PageSequence<EMR.ListStepsOutput> {
        PageSequence(operation: "ListSteps") { marker async throws(AWSError) in
            let page: EMR.ListStepsOutput = try await client.callJSON(
                "ListSteps",
                ListStepsInput(clusterId: clusterID, stepStates: states, marker: marker)
            )
            return (page, page.marker)
        }
    }

    struct CancelStepsInput: Encodable {
        var clusterId: String
        var stepIds: [String]
        var option: String
        enum CodingKeys: String, CodingKey {
            case clusterId = "ClusterId"
            case stepIds = "StepIds"
            case option = "StepCancellationOption"
        }
    }

    /// `CancelSteps` (`SEND_INTERRUPT`).
    public func cancelSteps(_ clusterID: String, stepIDs: [String]) async throws(AWSError) -> EMR.CancelStepsOutput {
        try await client.callJSON(
            "CancelSteps",
            CancelStepsInput(clusterId: clusterID, stepIds: stepIDs, option: "SEND_INTERRUPT")
        )
    }

    /// `GetAutoTerminationPolicy`: the cluster's idle timeout in seconds, `nil` when it has no policy.
    public func autoTerminationPolicy(_ clusterID: String) async throws(AWSError) -> Int? {
        let output: EMR.GetAutoTerminationPolicyOutput = try await client.callJSON(
            "GetAutoTerminationPolicy",
            ClusterInput(clusterId: clusterID)
        )
        return output.autoTerminationPolicy?.idleTimeout
    }

    /// `ListInstanceGroups`.
    public func listInstanceGroups(_ clusterID: String) -> PageSequence<EMR.ListInstanceGroupsOutput> {
        PageSequence(operation: "ListInstanceGroups") { marker async throws(AWSError) in
            let page: EMR.ListInstanceGroupsOutput = try await client.callJSON(
                "ListInstanceGroups",
                ClusterInput(clusterId: clusterID, marker: marker)
            )
            return (page, page.marker)
        }
    }

    /// `ListInstanceFleets`.
    public func listInstanceFleets(_ clusterID: String) -> PageSequence<EMR.ListInstanceFleetsOutput> {
        PageSequence(operation: "ListInstanceFleets") { marker async throws(AWSError) in
            let page: EMR.ListInstanceFleetsOutput = try await client.callJSON(
                "ListInstanceFleets",
                ClusterInput(clusterId: clusterID, marker: marker)
            )
            return (page, page.marker)
        }
    }
}
