public import CostGuardCore

/// AWS Step Functions (awsJson1_0). Read operations only: CostGuard never changes a workflow.
public struct SFNClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    struct ListStateMachinesInput: Encodable {
        var maxResults: Int
        var nextToken: String?
    }

    /// `ListStateMachines`, 1000 per page.
    public func listStateMachines() -> PageSequence<SFN.ListStateMachinesOutput> {
        PageSequence(operation: "ListStateMachines") { token async throws(AWSError) in
            let page: SFN.ListStateMachinesOutput = try await client.callJSON(
                "ListStateMachines",
                ListStateMachinesInput(maxResults: 1000, nextToken: token)
            )
            return (page, page.nextToken)
        }
    }

    struct ARNInput: Encodable {
        var stateMachineArn: String?
        var executionArn: String?
    }

    /// `DescribeStateMachine`.
    public func describeStateMachine(_ arn: String) async throws(AWSError) -> SFN.DescribeStateMachineOutput {
        try await client.callJSON("DescribeStateMachine", ARNInput(stateMachineArn: arn))
    }

    struct ListVersionsInput: Encodable {
        var stateMachineArn: String
        var nextToken: String?
    }

    /// `ListStateMachineVersions`: the published versions of a state machine, newest first.
    public func listStateMachineVersions(_ arn: String) -> PageSequence<SFN.ListStateMachineVersionsOutput> {
        PageSequence(operation: "ListStateMachineVersions") { token async throws(AWSError) in
            let page: SFN.ListStateMachineVersionsOutput = try await client.callJSON(
                "ListStateMachineVersions",
                ListVersionsInput(stateMachineArn: arn, nextToken: token)
            )
            return (page, page.nextToken)
        }
    }

    struct ListExecutionsInput: Encodable {
        var stateMachineArn: String?
        var mapRunArn: String?
        var statusFilter: String?
        var maxResults: Int
        var nextToken: String?
        /// `REDRIVEN` or `NOT_REDRIVEN`.
        var redriveFilter: String? = nil
    }

    /// The parent of a listing: a state machine, or a Distributed Map run.
    public enum ExecutionParent: Sendable {
        case stateMachine(String)
        case mapRun(String)
    }

    /// `ListExecutions`, newest first, `pageSize` per page (at most 1000).
    public func listExecutions(
        _ parent: ExecutionParent,
        status: ExecutionStatus? = nil,
        pageSize: Int = 1000
    ) -> PageSequence<SFN.ListExecutionsOutput> {
        PageSequence(operation: "ListExecutions") { token async throws(AWSError) in
            let page = try await listExecutionsPage(parent, status: status, pageSize: pageSize, token: token)
            return (page, page.nextToken)
        }
    }

    /// `ListExecutions(redriveFilter: REDRIVEN)`: the executions of a state machine that were ever redriven, with
    /// their redrive count and date.
    public func listRedrivenExecutions(_ stateMachine: String) -> PageSequence<SFN.ListExecutionsOutput> {
        PageSequence(operation: "ListExecutions") { token async throws(AWSError) in
            let input = ListExecutionsInput(
                stateMachineArn: stateMachine,
                maxResults: 1000,
                nextToken: token,
                redriveFilter: "REDRIVEN"
            )
            let page: SFN.ListExecutionsOutput = try await client.callJSON("ListExecutions", input)
            return (page, page.nextToken)
        }
    }

    /// One page of `ListExecutions` (newest first), for callers that choose each page's size.
    public func listExecutionsPage(
        _ parent: ExecutionParent,
        status: ExecutionStatus? = nil,
        pageSize: Int,
        token: String?
    ) async throws(AWSError) -> SFN.ListExecutionsOutput {
        var input = ListExecutionsInput(statusFilter: status?.rawValue, maxResults: pageSize, nextToken: token)
        switch parent {
        case .stateMachine(let arn): input.stateMachineArn = arn
        case .mapRun(let arn): input.mapRunArn = arn
        }
        let page: SFN.ListExecutionsOutput = try await client.callJSON("ListExecutions", input)
        if let next = page.nextToken, next == token {
            throw AWSError(
                kind: .malformedResponse,
                service: "states",
                operation: "ListExecutions",
                message: "the page's nextToken repeats the request's token (the listing would never end)"
            )
        }
        return page
    }

    /// `DescribeExecution`.
    public func describeExecution(_ arn: String) async throws(AWSError) -> SFN.DescribeExecutionOutput {
        try await client.callJSON("DescribeExecution", ARNInput(executionArn: arn))
    }

    struct HistoryInput: Encodable {
        var executionArn: String
        var maxResults: Int
        var nextToken: String?
        var reverseOrder: Bool
        var includeExecutionData: Bool
    }

    /// `GetExecutionHistory`, oldest first, with execution data (task outputs carry the cluster ids).
    ///
    /// - Parameter startToken: a `nextToken` saved from an earlier read, to resume there (valid 24 h).
    public func getExecutionHistory(
        _ arn: String,
        startToken: String? = nil,
        pageSize: Int = 500
    ) -> PageSequence<SFN.GetExecutionHistoryOutput> {
        PageSequence(operation: "GetExecutionHistory") { token async throws(AWSError) in
            let page: SFN.GetExecutionHistoryOutput = try await client.callJSON(
                "GetExecutionHistory",
                HistoryInput(
                    executionArn: arn,
                    maxResults: pageSize,
                    nextToken: token ?? startToken,
                    reverseOrder: false,
                    includeExecutionData: true
                )
            )
            return (page, page.nextToken)
        }
    }

    struct ListMapRunsInput: Encodable {
        var executionArn: String
        var maxResults: Int
        var nextToken: String?
    }

    /// `ListMapRuns` of an execution.
    public func listMapRuns(_ executionARN: String) -> PageSequence<SFN.ListMapRunsOutput> {
        PageSequence(operation: "ListMapRuns") { token async throws(AWSError) in
            let page: SFN.ListMapRunsOutput = try await client.callJSON(
                "ListMapRuns",
                ListMapRunsInput(executionArn: executionARN, maxResults: 1000, nextToken: token)
            )
            return (page, page.nextToken)
        }
    }
}
