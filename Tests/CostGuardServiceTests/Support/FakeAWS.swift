import AWSClients
import CostGuardCore
import Foundation
import Synchronization

/// Step Functions and EMR of one account and region, in memory: state machines, executions with their histories,
/// clusters with their steps. Passes run against it in-process, in milliseconds; the emulator suites stay the proof
/// against real HTTP and real executions. Answers are built as AWS's JSON and decoded with the real shapes, so a
/// field the fake leaves out is left out the way AWS would (optional).
///
/// Every call is counted by operation; `fail(_:with:times:)` makes an operation answer with an AWS error.
final class FakeAWS: Sendable {
    static let account = "123456789012"
    static let region = "us-east-1"
    static let createClusterDefinition = """
        {"StartAt": "Create", "States": {"Create": {"Type": "Task",
         "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
         "Parameters": {"Name": "etl", "Instances": {"KeepJobFlowAliveWhenNoSteps": true}}, "End": true}}}
        """

    struct Machine {
        var arn: String
        var name: String
        var definition: String
        var type = "STANDARD"
    }

    struct Execution {
        var arn: String
        var machine: String
        var name: String
        var status: ExecutionStatus
        var start: Timestamp
        var stop: Timestamp?
        var events: [[String: Any]]
    }

    struct Cluster {
        var id: String
        var name: String
        var state: String
        var created: Timestamp
        var protected = false
        var tags: [String: String] = [:]
        var runningSteps: [String] = []
    }

    fileprivate struct World: @unchecked Sendable {
        var machines: [Machine] = []
        var executions: [String: Execution] = [:]
        var clusters: [String: Cluster] = [:]
        var calls: [String: Int] = [:]
        var terminated: [[String]] = []
        var failures: [String: (error: AWSError, times: Int)] = [:]
    }

    private let world = Mutex(World())
    let now: @Sendable () -> Timestamp

    init(now: @escaping @Sendable () -> Timestamp) {
        self.now = now
    }

    var sfn: any StepFunctionsAPI { FakeStepFunctions(aws: self) }
    var emr: any EMRAPI { FakeEMR(aws: self) }

    /// AWS calls by `service.Operation`, as the pass counts them.
    var calls: [String: Int] { world.withLock { $0.calls } }
    /// The ids of every TerminateJobFlows call, in order.
    var terminateCalls: [[String]] { world.withLock { $0.terminated } }

    func state(of cluster: String) -> String? { world.withLock { $0.clusters[cluster]?.state } }

    // MARK: Building the world

    @discardableResult
    func addStateMachine(_ name: String, definition: String = createClusterDefinition) -> String {
        let arn = "arn:aws:states:\(Self.region):\(Self.account):stateMachine:\(name)"
        world.withLock { $0.machines.append(Machine(arn: arn, name: name, definition: definition)) }
        return arn
    }

    /// An execution of `machine` that created `cluster` (WAITING) with createCluster.sync and is now `status`;
    /// an ended one ended `endedAgo` before now.
    @discardableResult
    func runCreatingCluster(
        _ machine: String,
        name: String,
        cluster: String,
        status: ExecutionStatus,
        startedAgo: Duration = .seconds(7200),
        endedAgo: Duration = .seconds(3600),
        protected: Bool = false,
        tags: [String: String] = [:]
    ) -> String {
        let start = now().adding(.zero - startedAgo)
        let stop = status == .running ? nil : now().adding(.zero - endedAgo)
        let arn = machine.replacingOccurrences(of: ":stateMachine:", with: ":execution:") + ":" + name
        var events: [[String: Any]] = [
            event(1, "ExecutionStarted", start, ["executionStartedEventDetails": ["input": "{}"]]),
            event(
                2,
                "TaskScheduled",
                start,
                [
                    "taskScheduledEventDetails": [
                        "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                        "region": Self.region, "parameters": #"{"Name":"etl"}"#,
                    ]
                ]
            ),
            event(
                3,
                "TaskSubmitted",
                start.adding(.seconds(1)),
                [
                    "taskSubmittedEventDetails": [
                        "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                        "output":
                            #"{"ClusterId":"\#(cluster)","ClusterArn":"arn:aws:elasticmapreduce:\#(Self.region):\#(Self.account):cluster/\#(cluster)"}"#,
                    ]
                ]
            ),
        ]
        if let stop {
            let type: String
            switch status {
            case .aborted: type = "ExecutionAborted"
            case .failed: type = "ExecutionFailed"
            case .timedOut: type = "ExecutionTimedOut"
            default: type = "ExecutionSucceeded"
            }
            events.append(event(4, type, stop, [:]))
        }
        world.withLock { world in
            world.executions[arn] = Execution(
                arn: arn,
                machine: machine,
                name: name,
                status: status,
                start: start,
                stop: stop,
                events: events
            )
            world.clusters[cluster] = Cluster(
                id: cluster,
                name: "etl",
                state: "WAITING",
                created: start,
                protected: protected,
                tags: tags
            )
        }
        return arn
    }

    /// Ends a RUNNING execution now (as StopExecution would).
    func stop(_ execution: String) {
        world.withLock { world in
            guard var run = world.executions[execution] else { return }
            run.status = .aborted
            run.stop = now()
            run.events.append(event(run.events.count + 1, "ExecutionAborted", now(), [:]))
            world.executions[execution] = run
        }
    }

    /// The next `times` calls of `operation` (`elasticmapreduce.TerminateJobFlows`) fail with `error`.
    func fail(_ operation: String, with error: AWSError, times: Int = 1) {
        world.withLock { $0.failures[operation] = (error, times) }
    }

    private func event(_ id: Int, _ type: String, _ at: Timestamp, _ details: [String: Any]) -> [String: Any] {
        var event: [String: Any] = ["id": id, "type": type, "timestamp": at.secondsSinceEpoch]
        if id > 1 { event["previousEventId"] = id - 1 }
        event.merge(details) { _, new in new }
        return event
    }

    // MARK: Answering

    /// AWS's 400 answer for a resource that does not exist, as the real clients decode it.
    static func refusal(_ service: String, _ operation: String, code: String, _ message: String) -> AWSError {
        AWSError(
            kind: .service,
            service: service,
            operation: operation,
            code: code,
            message: message,
            statusCode: 400
        )
    }

    /// Counts the call and throws an injected failure, if any.
    fileprivate func call(_ operation: String) throws(AWSError) {
        let failure: AWSError? = world.withLock { world in
            world.calls[operation, default: 0] += 1
            guard let injected = world.failures[operation] else { return nil }
            world.failures[operation] = injected.times > 1 ? (injected.error, injected.times - 1) : nil
            return injected.error
        }
        if let failure { throw failure }
    }

    fileprivate func answer<T: Decodable>(_ object: Any, as type: T.Type = T.self) throws(AWSError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: try JSONSerialization.data(withJSONObject: object))
        } catch {
            throw AWSError(kind: .malformedResponse, service: "fake", operation: "\(T.self)", message: "\(error)")
        }
    }

    fileprivate func read<T>(_ body: (inout World) throws(AWSError) -> T) throws(AWSError) -> T {
        do {
            return try world.withLock { world in try body(&world) }
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError(kind: .transport, service: "fake", operation: "?", message: "\(error)")
        }
    }

    fileprivate func machines() -> [Machine] { world.withLock { $0.machines } }

    fileprivate func executionItem(_ run: Execution) -> [String: Any] {
        var item: [String: Any] = [
            "executionArn": run.arn, "stateMachineArn": run.machine, "name": run.name,
            "status": run.status.rawValue, "startDate": run.start.secondsSinceEpoch,
        ]
        if let stop = run.stop { item["stopDate"] = stop.secondsSinceEpoch }
        return item
    }

    fileprivate func executions(of machine: String, status: ExecutionStatus?) -> [[String: Any]] {
        world.withLock { world in
            world.executions.values.filter { $0.machine == machine && (status == nil || $0.status == status) }
                .sorted { $0.start > $1.start }
        }
        .map(executionItem)
    }

    fileprivate func execution(_ arn: String) -> Execution? { world.withLock { $0.executions[arn] } }

    fileprivate func clusterObject(_ cluster: Cluster) -> [String: Any] {
        [
            "Id": cluster.id, "Name": cluster.name,
            "Status": ["State": cluster.state, "Timeline": ["CreationDateTime": cluster.created.secondsSinceEpoch]],
            "TerminationProtected": cluster.protected, "NormalizedInstanceHours": 8,
            "ClusterArn": "arn:aws:elasticmapreduce:\(Self.region):\(Self.account):cluster/\(cluster.id)",
            "Tags": cluster.tags.map { ["Key": $0.key, "Value": $0.value] },
            "InstanceCollectionType": "INSTANCE_GROUP", "AutoTerminate": false,
        ]
    }

    fileprivate func clusters(in states: [ClusterState]?) -> [Cluster] {
        let names = Set((states ?? []).map(\.rawValue))
        return world.withLock { world in
            world.clusters.values.filter { names.isEmpty || names.contains($0.state) }.sorted { $0.id < $1.id }
        }
    }

    fileprivate func cluster(_ id: String) -> Cluster? { world.withLock { $0.clusters[id] } }

    fileprivate func terminate(_ ids: [String]) {
        world.withLock { world in
            world.terminated.append(ids)
            for id in ids where world.clusters[id]?.protected == false {
                world.clusters[id]?.state = "TERMINATING"
            }
        }
    }

    fileprivate func protect(_ ids: [String], _ value: Bool) {
        world.withLock { world in for id in ids { world.clusters[id]?.protected = value } }
    }
}

/// A counted call answering one page with an empty list under `key` (what the fake's world never has).
private func emptyPage<Page: Decodable & Sendable>(
    _ aws: FakeAWS,
    _ service: String,
    _ operation: String,
    key: String
) -> PageSequence<Page> {
    onePage(operation) { () throws(AWSError) in
        try aws.call("\(service).\(operation)")
        return try aws.answer([key: [] as [Any]])
    }
}

/// One page holding everything: the fake's lists are small.
private func onePage<Page: Sendable>(
    _ operation: String,
    _ page: @escaping @Sendable () throws(AWSError) -> Page
) -> PageSequence<Page> {
    PageSequence(operation: operation) { _ async throws(AWSError) in (try page(), nil) }
}

private struct FakeStepFunctions: StepFunctionsAPI {
    let aws: FakeAWS

    func listStateMachines() -> PageSequence<SFN.ListStateMachinesOutput> {
        onePage("ListStateMachines") { () throws(AWSError) in
            try aws.call("states.ListStateMachines")
            let items = aws.machines().map { ["stateMachineArn": $0.arn, "name": $0.name, "type": $0.type] }
            return try aws.answer(["stateMachines": items])
        }
    }

    func describeStateMachine(_ arn: String) async throws(AWSError) -> SFN.DescribeStateMachineOutput {
        try aws.call("states.DescribeStateMachine")
        guard let machine = aws.machines().first(where: { $0.arn == arn }) else {
            throw FakeAWS.refusal(
                "states",
                "DescribeStateMachine",
                code: "StateMachineDoesNotExist",
                "State Machine Does Not Exist: '\(arn)'"
            )
        }
        return try aws.answer([
            "stateMachineArn": machine.arn, "name": machine.name, "status": "ACTIVE", "definition": machine.definition,
            "type": machine.type, "revisionId": "r1",
        ])
    }

    func listStateMachineVersions(_ arn: String) -> PageSequence<SFN.ListStateMachineVersionsOutput> {
        emptyPage(aws, "states", "ListStateMachineVersions", key: "stateMachineVersions")
    }

    func listExecutions(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus?,
        pageSize: Int
    ) -> PageSequence<SFN.ListExecutionsOutput> {
        onePage("ListExecutions") { () throws(AWSError) in
            try page(parent, status: status)
        }
    }

    func listRedrivenExecutions(_ stateMachine: String) -> PageSequence<SFN.ListExecutionsOutput> {
        emptyPage(aws, "states", "ListExecutions", key: "executions")
    }

    func listExecutionsPage(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus?,
        pageSize: Int,
        token: String?
    ) async throws(AWSError) -> SFN.ListExecutionsOutput {
        try page(parent, status: status)
    }

    private func page(
        _ parent: SFNClient.ExecutionParent,
        status: ExecutionStatus?
    ) throws(AWSError)
        -> SFN.ListExecutionsOutput
    {
        try aws.call("states.ListExecutions")
        guard case .stateMachine(let machine) = parent else { return try aws.answer(["executions": [] as [Any]]) }
        return try aws.answer(["executions": aws.executions(of: machine, status: status)])
    }

    func describeExecution(_ arn: String) async throws(AWSError) -> SFN.DescribeExecutionOutput {
        try aws.call("states.DescribeExecution")
        guard let run = aws.execution(arn) else {
            throw FakeAWS.refusal(
                "states",
                "DescribeExecution",
                code: "ExecutionDoesNotExist",
                "Execution Does Not Exist: '\(arn)'"
            )
        }
        return try aws.answer(aws.executionItem(run))
    }

    func getExecutionHistory(
        _ arn: String,
        startToken: String?,
        pageSize: Int
    ) -> PageSequence<SFN.GetExecutionHistoryOutput> {
        onePage("GetExecutionHistory") { () throws(AWSError) in
            try aws.call("states.GetExecutionHistory")
            let events = aws.execution(arn)?.events ?? []
            // A resumed read starts after the events already read (the token is the last event's id).
            let after = startToken.flatMap(Int.init) ?? 0
            return try aws.answer(["events": Array(events.dropFirst(after))])
        }
    }

    var observedClockOffset: Duration? { .zero }
}

private struct FakeEMR: EMRAPI {
    let aws: FakeAWS

    func listClusters(
        states: [ClusterState]?,
        createdAfter: Timestamp?,
        createdBefore: Timestamp?
    ) -> PageSequence<EMR.ListClustersOutput> {
        onePage("ListClusters") { () throws(AWSError) in
            try aws.call("elasticmapreduce.ListClusters")
            let summaries = aws.clusters(in: states).map { cluster in
                var object = aws.clusterObject(cluster)
                object["Tags"] = nil
                object["TerminationProtected"] = nil
                return object
            }
            return try aws.answer(["Clusters": summaries])
        }
    }

    func describeCluster(_ id: String) async throws(AWSError) -> EMR.Cluster {
        try aws.call("elasticmapreduce.DescribeCluster")
        guard let cluster = aws.cluster(id) else {
            throw FakeAWS.refusal(
                "elasticmapreduce",
                "DescribeCluster",
                code: "InvalidRequestException",
                "Cluster id '\(id)' is not valid."
            )
        }
        return try aws.answer(["Cluster": aws.clusterObject(cluster)], as: EMR.DescribeClusterOutput.self).cluster
    }

    func terminateJobFlows(_ ids: [String]) async throws(AWSError) -> String? {
        try aws.call("elasticmapreduce.TerminateJobFlows")
        aws.terminate(ids)
        return "req-terminate-\(aws.terminateCalls.count)"
    }

    func setTerminationProtection(_ ids: [String], protected: Bool) async throws(AWSError) -> String? {
        try aws.call("elasticmapreduce.SetTerminationProtection")
        aws.protect(ids, protected)
        return "req-protection"
    }

    func listSteps(_ clusterID: String, states: [String]?) -> PageSequence<EMR.ListStepsOutput> {
        onePage("ListSteps") { () throws(AWSError) in
            try aws.call("elasticmapreduce.ListSteps")
            let steps = (aws.cluster(clusterID)?.runningSteps ?? []).enumerated().map { index, name in
                ["Id": "s-\(index)", "Name": name, "Status": ["State": "RUNNING"]] as [String: Any]
            }
            return try aws.answer(["Steps": steps])
        }
    }

    func autoTerminationPolicy(_ clusterID: String) async throws(AWSError) -> Int? {
        try aws.call("elasticmapreduce.GetAutoTerminationPolicy")
        return nil
    }

    func listInstanceGroups(_ clusterID: String) -> PageSequence<EMR.ListInstanceGroupsOutput> {
        emptyPage(aws, "elasticmapreduce", "ListInstanceGroups", key: "InstanceGroups")
    }

    func listInstanceFleets(_ clusterID: String) -> PageSequence<EMR.ListInstanceFleetsOutput> {
        emptyPage(aws, "elasticmapreduce", "ListInstanceFleets", key: "InstanceFleets")
    }
}
