/// Checks, with harmless read calls, that the credentials may make every call CostGuard needs.
///
/// Each probe calls the API on a resource that does not exist (an ARN or cluster id in the caller's account made
/// up for the purpose). IAM authorises before the service looks the resource up, so "does not exist" proves the
/// permission and "access denied" disproves it. Mutating calls are never made: their permissions are listed as
/// not checked.
public struct PermissionProbe: Sendable {
    /// The verdict on one IAM action.
    public enum Verdict: Sendable, Equatable {
        case allowed
        case denied(String)
        /// The answer did not tell (a server error, a throttle, an emulator gap).
        case unknown(String)
        /// A mutating action the doctor does not call.
        case notChecked
    }

    public struct Result: Sendable {
        public var action: String
        public var verdict: Verdict
    }

    public let sfn: SFNClient
    public let emr: EMRClient

    public init(sfn: SFNClient, emr: EMRClient) {
        self.sfn = sfn
        self.emr = emr
    }

    /// The mutating actions CostGuard uses, which the probe does not call.
    public static let mutatingActions = [
        "elasticmapreduce:TerminateJobFlows", "elasticmapreduce:SetTerminationProtection",
    ]

    static let deniedCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "NotAuthorized",
    ]

    /// Runs every probe for `account` in `region`.
    public func run(account: String, region: String) async -> [Result] {
        let partition = Partition.of(region: region).name
        let machine = "arn:\(partition):states:\(region):\(account):stateMachine:costguard-doctor-probe"
        let execution = "arn:\(partition):states:\(region):\(account):execution:costguard-doctor-probe:probe"
        let cluster = "j-COSTGUARDPROBE"
        var results: [Result] = []
        func probe(_ action: String, _ call: () async throws(AWSError) -> Void) async {
            do {
                try await call()
                results.append(Result(action: action, verdict: .allowed))
            } catch {
                results.append(Result(action: action, verdict: Self.verdict(error)))
            }
        }
        await probe("states:ListStateMachines") { () async throws(AWSError) in
            var iterator = sfn.listStateMachines().makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("states:DescribeStateMachine") { () async throws(AWSError) in
            _ = try await sfn.describeStateMachine(machine)
        }
        await probe("states:ListStateMachineVersions") { () async throws(AWSError) in
            var iterator = sfn.listStateMachineVersions(machine).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("states:ListExecutions") { () async throws(AWSError) in
            var iterator = sfn.listExecutions(.stateMachine(machine), pageSize: 1).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("states:DescribeExecution") { () async throws(AWSError) in
            _ = try await sfn.describeExecution(execution)
        }
        await probe("states:GetExecutionHistory") { () async throws(AWSError) in
            var iterator = sfn.getExecutionHistory(execution, pageSize: 1).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("states:ListMapRuns") { () async throws(AWSError) in
            var iterator = sfn.listMapRuns(execution).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("elasticmapreduce:ListClusters") { () async throws(AWSError) in
            var iterator = emr.listClusters(states: [.starting]).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("elasticmapreduce:DescribeCluster") { () async throws(AWSError) in
            _ = try await emr.describeCluster(cluster)
        }
        await probe("elasticmapreduce:ListInstanceGroups") { () async throws(AWSError) in
            var iterator = emr.listInstanceGroups(cluster).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("elasticmapreduce:ListInstanceFleets") { () async throws(AWSError) in
            var iterator = emr.listInstanceFleets(cluster).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("elasticmapreduce:ListSteps") { () async throws(AWSError) in
            var iterator = emr.listSteps(cluster).makeAsyncIterator()
            _ = try await iterator.next()
        }
        await probe("elasticmapreduce:GetAutoTerminationPolicy") { () async throws(AWSError) in
            _ = try await emr.autoTerminationPolicy(cluster)
        }
        for action in Self.mutatingActions { results.append(Result(action: action, verdict: .notChecked)) }
        return results
    }

    /// What an error says about the permission.
    static func verdict(_ error: AWSError) -> Verdict {
        if let code = error.code, deniedCodes.contains(code) { return .denied(error.message) }
        if error.kind == .service, let status = error.statusCode, (400..<500).contains(status), !error.isThrottling {
            // Authorised, then refused for the made-up resource: the permission is there.
            return .allowed
        }
        return .unknown(error.code.map { "\($0) (HTTP \(error.statusCode ?? 0))" } ?? error.message)
    }
}
