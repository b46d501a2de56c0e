import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardService
import CostGuardTestKit
import Foundation
import Logging
import Testing

/// Distributed Map children. moto runs Distributed Map iterations inside the parent execution and cannot list
/// children by map run, so this test serves the AWS JSON answers from a scripted server on loopback (real HTTP,
/// real signing, real ledger) shaped like the AWS API reference's.
@Suite("Distributed Map children")
struct MapRunTests {
    @Test("a child execution of a map run is followed: its cluster is found in its history and terminated when it ends")
    func mapRunChildren() async throws {
        let parent = "arn:aws:states:us-east-1:123456789012:execution:fanout:run-1"
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:fanout"
        let mapRun = "arn:aws:states:us-east-1:123456789012:mapRun:fanout/items:1b2c"
        let child = "arn:aws:states:us-east-1:123456789012:execution:fanout/items:child-0001"
        let definition = #"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::elasticmapreduce:createCluster.sync","Parameters":{"Name":"x"},"End":true}}}}}}"#
        func json(_ object: [String: any Sendable]) -> [String: any Sendable] { ["json": object] }
        let rules: [[String: any Sendable]] = [
            ["target": "ListStateMachines", "body": json(["stateMachines": [["stateMachineArn": machine, "name": "fanout", "type": "STANDARD", "creationDate": 1.7e9] as [String: any Sendable]]])],
            ["target": "DescribeStateMachine", "body": json(["stateMachineArn": machine, "name": "fanout", "definition": definition, "type": "STANDARD"])],
            ["target": "ListExecutions", "body_contains": "mapRunArn", "body": json(["executions": [
                ["executionArn": child, "stateMachineArn": machine + "/items", "name": "child-0001", "status": "ABORTED", "startDate": 1.7e9, "stopDate": 1.7e9 + 60, "mapRunArn": mapRun] as [String: any Sendable]]])],
            ["target": "ListExecutions", "body_contains": "RUNNING", "body": json(["executions": [] as [String]])],
            ["target": "ListExecutions", "body": json(["executions": [
                ["executionArn": parent, "stateMachineArn": machine, "name": "run-1", "status": "FAILED", "startDate": 1.7e9, "stopDate": 1.7e9 + 90] as [String: any Sendable]]])],
            ["target": "DescribeExecution", "body_contains": "child-0001", "body": json(
                ["executionArn": child, "stateMachineArn": machine + "/items", "status": "ABORTED", "startDate": 1.7e9, "stopDate": 1.7e9 + 60, "redriveStatus": "NOT_REDRIVABLE", "redriveCount": 0])],
            ["target": "DescribeExecution", "body": json(
                ["executionArn": parent, "stateMachineArn": machine, "status": "FAILED", "startDate": 1.7e9, "stopDate": 1.7e9 + 90, "redriveStatus": "NOT_REDRIVABLE", "redriveCount": 0])],
            ["target": "GetExecutionHistory", "body_contains": "child-0001", "body": json(["events": [
                ["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable],
                ["id": 2, "previousEventId": 1, "type": "TaskScheduled", "timestamp": 1.7e9, "taskScheduledEventDetails": ["resourceType": "elasticmapreduce", "resource": "createCluster.sync", "region": "us-east-1", "parameters": "{\"Name\":\"x\"}"]],
                ["id": 3, "previousEventId": 2, "type": "TaskStarted", "timestamp": 1.7e9],
                ["id": 4, "previousEventId": 3, "type": "TaskSubmitted", "timestamp": 1.7e9, "taskSubmittedEventDetails": ["resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": "{\"ClusterId\":\"j-CHILDCLUSTER1\"}"]],
                ["id": 5, "previousEventId": 4, "type": "ExecutionAborted", "timestamp": 1.7e9 + 60],
            ]])],
            ["target": "GetExecutionHistory", "body": json(["events": [
                ["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable],
                ["id": 2, "previousEventId": 1, "type": "MapRunStarted", "timestamp": 1.7e9, "mapRunStartedEventDetails": ["mapRunArn": mapRun]],
                ["id": 3, "previousEventId": 2, "type": "ExecutionFailed", "timestamp": 1.7e9 + 90],
            ]])],
            ["target": "ListClusters", "body": json(["Clusters": [["Id": "j-CHILDCLUSTER1", "Name": "x", "Status": ["State": "WAITING"]] as [String: any Sendable]]])],
            ["target": "DescribeCluster", "body": json(["Cluster": ["Id": "j-CHILDCLUSTER1", "Name": "x", "Status": ["State": "WAITING"], "TerminationProtected": false, "Tags": [] as [String]] as [String: any Sendable]])],
            ["target": "ListInstanceGroups", "body": json(["InstanceGroups": [] as [String]])],
            ["target": "TerminateJobFlows", "headers": ["x-amzn-RequestId": "req-terminate-1"], "body": json([:])],
        ]
        let server = try await ScriptedServer.start(rules: rules)
        defer { server.stop() }
        let environment = [
            "HOME": try TestPaths.temporaryDirectory(), "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
        ]
        let settings = try await AWSSettings.resolve(environment: environment, transport: NIOHTTPTransport())
        let context = AWSCallContext()
        let chain = try settings.credentialChain(context: context)
        var configuration = ReconcileConfiguration()
        configuration.policy.grace = .zero
        configuration.policy.redriveGrace = .zero
        let ledger = try Ledger.open(path: try TestPaths.temporaryDirectory() + "/ledger.sqlite", now: Timestamp.systemNow())
        let reconciler = Reconciler(
            ledger: ledger,
            regions: [RegionClients(
                region: "us-east-1", sfn: SFNClient(client: try settings.client(.stepFunctions, credentials: chain, context: context)),
                emr: EMRClient(client: try settings.client(.emr, credentials: chain, context: context)))],
            configuration: configuration, counter: CallCounter(), now: { Timestamp.systemNow() }, logger: Logger(label: "test"))
        let summary = try await reconciler.runPass()
        #expect(summary.terminated == ["j-CHILDCLUSTER1"], "\(summary.line)")
        let row = try #require(try ledger.executions()[child])
        #expect(row.record.parentExecutionARN == parent)
        #expect(row.record.mapRunARN == mapRun)
        let provenance = try ledger.reportRecords().first { $0.clusterID == "j-CHILDCLUSTER1" }
        #expect(provenance?.executionARN == child)
        let terminate = try server.requests().filter { $0.headers["X-Amz-Target"] == "ElasticMapReduce.TerminateJobFlows" }
        #expect(terminate.count == 1)
        #expect(terminate.first?.body.contains("j-CHILDCLUSTER1") == true)
        #expect(try ledger.journal().filter { $0.kind == "outcome" }.first?.requestID == "req-terminate-1")
    }
}
