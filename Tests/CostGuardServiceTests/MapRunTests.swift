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
    /// A reconciler (grace 0) and its ledger, talking to the scripted server.
    static func reconciler(
        _ server: ScriptedServer,
        configure: (inout ReconcileConfiguration) -> Void = { _ in }
    ) async throws -> (Reconciler, Ledger) {
        let environment = [
            "HOME": try TestPaths.temporaryDirectory(), "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
        ]
        let settings = try await AWSSettings.resolve(environment: environment, transport: AsyncHTTPClientTransport())
        let context = AWSCallContext()
        let chain = try settings.credentialChain(context: context)
        var configuration = ReconcileConfiguration()
        configuration.policy.grace = .zero
        configuration.policy.redriveGrace = .zero
        configure(&configuration)
        let ledger = try Ledger.open(
            path: try TestPaths.temporaryDirectory() + "/ledger.sqlite",
            now: Timestamp.systemNow()
        )
        let reconciler = Reconciler(
            ledger: ledger,
            regions: [
                RegionClients(
                    region: "us-east-1",
                    sfn: SFNClient(client: try settings.client(.stepFunctions, credentials: chain, context: context)),
                    emr: EMRClient(client: try settings.client(.emr, credentials: chain, context: context))
                )
            ],
            configuration: configuration,
            counter: CallCounter(),
            now: { Timestamp.systemNow() },
            logger: Logger(label: "test")
        )
        return (reconciler, ledger)
    }

    @Test("a child execution of a map run is followed: its cluster is found in its history and terminated when it ends")
    func mapRunChildren() async throws {
        let parent = "arn:aws:states:us-east-1:123456789012:execution:fanout:run-1"
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:fanout"
        let mapRun = "arn:aws:states:us-east-1:123456789012:mapRun:fanout/items:1b2c"
        let child = "arn:aws:states:us-east-1:123456789012:execution:fanout/items:child-0001"
        let definition =
            #"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::elasticmapreduce:createCluster.sync","Parameters":{"Name":"x"},"End":true}}}}}}"#
        func json(_ object: [String: any Sendable]) -> [String: any Sendable] { ["json": object] }
        let rules: [[String: any Sendable]] = [
            [
                "target": "ListStateMachines",
                "body": json([
                    "stateMachines": [
                        ["stateMachineArn": machine, "name": "fanout", "type": "STANDARD", "creationDate": 1.7e9]
                            as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeStateMachine",
                "body": json([
                    "stateMachineArn": machine, "name": "fanout", "definition": definition, "type": "STANDARD",
                ]),
            ],
            ["target": "ListStateMachineVersions", "body": json(["stateMachineVersions": [] as [String]])],
            [
                "target": "ListExecutions", "body_contains": "mapRunArn",
                "body": json([
                    "executions": [
                        [
                            "executionArn": child, "stateMachineArn": machine + "/items", "name": "child-0001",
                            "status": "ABORTED", "startDate": 1.7e9, "stopDate": 1.7e9 + 60, "mapRunArn": mapRun,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            ["target": "ListExecutions", "body_contains": "RUNNING", "body": json(["executions": [] as [String]])],
            [
                "target": "ListExecutions",
                "body": json([
                    "executions": [
                        [
                            "executionArn": parent, "stateMachineArn": machine, "name": "run-1", "status": "FAILED",
                            "startDate": 1.7e9, "stopDate": 1.7e9 + 90,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeExecution", "body_contains": "child-0001",
                "body": json(
                    [
                        "executionArn": child, "stateMachineArn": machine + "/items", "status": "ABORTED",
                        "startDate": 1.7e9, "stopDate": 1.7e9 + 60, "redriveStatus": "NOT_REDRIVABLE",
                        "redriveCount": 0,
                    ]),
            ],
            [
                "target": "DescribeExecution",
                "body": json(
                    [
                        "executionArn": parent, "stateMachineArn": machine, "status": "FAILED", "startDate": 1.7e9,
                        "stopDate": 1.7e9 + 90, "redriveStatus": "NOT_REDRIVABLE", "redriveCount": 0,
                    ]),
            ],
            [
                "target": "GetExecutionHistory", "body_contains": "child-0001",
                "body": json([
                    "events": [
                        ["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable],
                        [
                            "id": 2, "previousEventId": 1, "type": "TaskScheduled", "timestamp": 1.7e9,
                            "taskScheduledEventDetails": [
                                "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                                "region": "us-east-1", "parameters": "{\"Name\":\"x\"}",
                            ],
                        ],
                        ["id": 3, "previousEventId": 2, "type": "TaskStarted", "timestamp": 1.7e9],
                        [
                            "id": 4, "previousEventId": 3, "type": "TaskSubmitted", "timestamp": 1.7e9,
                            "taskSubmittedEventDetails": [
                                "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                                "output": "{\"ClusterId\":\"j-CHILDCLUSTER1\"}",
                            ],
                        ],
                        ["id": 5, "previousEventId": 4, "type": "ExecutionAborted", "timestamp": 1.7e9 + 60],
                    ]
                ]),
            ],
            [
                "target": "GetExecutionHistory",
                "body": json([
                    "events": [
                        ["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable],
                        [
                            "id": 2, "previousEventId": 1, "type": "MapRunStarted", "timestamp": 1.7e9,
                            "mapRunStartedEventDetails": ["mapRunArn": mapRun],
                        ],
                        ["id": 3, "previousEventId": 2, "type": "ExecutionFailed", "timestamp": 1.7e9 + 90],
                    ]
                ]),
            ],
            [
                "target": "ListClusters",
                "body": json([
                    "Clusters": [
                        ["Id": "j-CHILDCLUSTER1", "Name": "x", "Status": ["State": "WAITING"]] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeCluster",
                "body": json([
                    "Cluster": [
                        "Id": "j-CHILDCLUSTER1", "Name": "x", "Status": ["State": "WAITING"],
                        "TerminationProtected": false, "Tags": [] as [String],
                    ] as [String: any Sendable]
                ]),
            ],
            ["target": "ListInstanceGroups", "body": json(["InstanceGroups": [] as [String]])],
            ["target": "TerminateJobFlows", "headers": ["x-amzn-RequestId": "req-terminate-1"], "body": json([:])],
        ]
        let server = try await ScriptedServer.start(rules: rules)
        defer { server.stop() }
        let (reconciler, ledger) = try await Self.reconciler(server)
        let summary = try await reconciler.runPass()
        #expect(summary.terminated == ["j-CHILDCLUSTER1"], "\(summary.line)")
        let row = try #require(try ledger.executions.rows()[child])
        #expect(row.record.parentExecutionARN == parent)
        #expect(row.record.mapRunARN == mapRun)
        let provenance = try ledger.clusters.reportRecords().first { $0.clusterID == "j-CHILDCLUSTER1" }
        #expect(provenance?.executionARN == child)
        let terminate = try server.requests().filter {
            $0.headers["X-Amz-Target"] == "ElasticMapReduce.TerminateJobFlows"
        }
        #expect(terminate.count == 1)
        #expect(terminate.first?.body.contains("j-CHILDCLUSTER1") == true)
        #expect(try ledger.journal.rows().filter { $0.kind == .outcome }.first?.requestID == "req-terminate-1")
    }

    @Test(
        "a child started by startExecution is linked to its parent, and the cluster id handed in its input keeps the cluster"
    )
    func startedChildren() async throws {
        let creator = "arn:aws:states:us-east-1:123456789012:stateMachine:creator"
        let worker = "arn:aws:states:us-east-1:123456789012:stateMachine:worker"
        let parent = "arn:aws:states:us-east-1:123456789012:execution:creator:run-1"
        let child = "arn:aws:states:us-east-1:123456789012:execution:worker:worker-run-1"
        let cluster = "j-HANDEDCLUSTER1"
        let creatorDefinition =
            #"{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::elasticmapreduce:createCluster.sync","Parameters":{"Name":"x"},"Next":"S"},"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":"\#(worker)","Input.$":"$"},"Next":"F"},"F":{"Type":"Fail"}}}"#
        let workerDefinition = #"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#
        func json(_ object: [String: any Sendable]) -> [String: any Sendable] { ["json": object] }
        let rules: [[String: any Sendable]] = [
            [
                "target": "ListStateMachines",
                "body": json([
                    "stateMachines": [
                        ["stateMachineArn": creator, "name": "creator", "type": "STANDARD"] as [String: any Sendable],
                        ["stateMachineArn": worker, "name": "worker", "type": "STANDARD"] as [String: any Sendable],
                    ]
                ]),
            ],
            [
                "target": "DescribeStateMachine", "body_contains": "creator",
                "body": json(
                    [
                        "stateMachineArn": creator, "name": "creator", "definition": creatorDefinition,
                        "type": "STANDARD",
                    ]),
            ],
            [
                "target": "DescribeStateMachine",
                "body": json(
                    ["stateMachineArn": worker, "name": "worker", "definition": workerDefinition, "type": "STANDARD"]),
            ],
            ["target": "ListStateMachineVersions", "body": json(["stateMachineVersions": [] as [String]])],
            [
                "target": "ListExecutions", "body_contains": "stateMachine:worker",
                "body": json([
                    "executions": [
                        [
                            "executionArn": child, "stateMachineArn": worker, "name": "worker-run-1",
                            "status": "RUNNING", "startDate": 1.7e9 + 30,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            ["target": "ListExecutions", "body_contains": "RUNNING", "body": json(["executions": [] as [String]])],
            [
                "target": "ListExecutions",
                "body": json([
                    "executions": [
                        [
                            "executionArn": parent, "stateMachineArn": creator, "name": "run-1", "status": "FAILED",
                            "startDate": 1.7e9, "stopDate": 1.7e9 + 90,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeExecution", "body_contains": "worker-run-1",
                "body": json(
                    ["executionArn": child, "stateMachineArn": worker, "status": "RUNNING", "startDate": 1.7e9 + 30]),
            ],
            [
                "target": "DescribeExecution",
                "body": json(
                    [
                        "executionArn": parent, "stateMachineArn": creator, "status": "FAILED", "startDate": 1.7e9,
                        "stopDate": 1.7e9 + 90, "redriveStatus": "NOT_REDRIVABLE", "redriveCount": 0,
                    ]),
            ],
            [
                "target": "GetExecutionHistory", "body_contains": "worker-run-1",
                "body": json([
                    "events": [
                        [
                            "id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9 + 30,
                            "executionStartedEventDetails": ["input": "{\"ClusterId\":\"\(cluster)\"}"],
                        ] as [String: any Sendable],
                        ["id": 2, "previousEventId": 1, "type": "WaitStateEntered", "timestamp": 1.7e9 + 30],
                    ]
                ]),
            ],
            [
                "target": "GetExecutionHistory",
                "body": json([
                    "events": [
                        ["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable],
                        [
                            "id": 2, "previousEventId": 1, "type": "TaskScheduled", "timestamp": 1.7e9,
                            "taskScheduledEventDetails": [
                                "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                                "region": "us-east-1", "parameters": "{\"Name\":\"x\"}",
                            ],
                        ],
                        [
                            "id": 3, "previousEventId": 2, "type": "TaskSubmitted", "timestamp": 1.7e9,
                            "taskSubmittedEventDetails": [
                                "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                                "output": "{\"ClusterId\":\"\(cluster)\"}",
                            ],
                        ],
                        [
                            "id": 4, "previousEventId": 3, "type": "TaskScheduled", "timestamp": 1.7e9 + 30,
                            "taskScheduledEventDetails": [
                                "resourceType": "states", "resource": "startExecution", "region": "us-east-1",
                                "parameters": "{\"StateMachineArn\":\"\(worker)\",\"Input\":\"{}\"}",
                            ],
                        ],
                        [
                            "id": 5, "previousEventId": 4, "type": "TaskSucceeded", "timestamp": 1.7e9 + 30,
                            "taskSucceededEventDetails": [
                                "resourceType": "states", "resource": "startExecution",
                                "output": "{\"ExecutionArn\":\"\(child)\",\"StartDate\":1.7e9}",
                            ],
                        ],
                        ["id": 6, "previousEventId": 5, "type": "ExecutionFailed", "timestamp": 1.7e9 + 90],
                    ]
                ]),
            ],
            [
                "target": "ListClusters",
                "body": json([
                    "Clusters": [
                        ["Id": cluster, "Name": "x", "Status": ["State": "WAITING"]] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeCluster",
                "body": json([
                    "Cluster": [
                        "Id": cluster, "Name": "x", "Status": ["State": "WAITING"], "TerminationProtected": false,
                        "Tags": [] as [String],
                    ] as [String: any Sendable]
                ]),
            ],
            ["target": "ListInstanceGroups", "body": json(["InstanceGroups": [] as [String]])],
        ]
        let server = try await ScriptedServer.start(rules: rules)
        defer { server.stop() }
        let (reconciler, ledger) = try await Self.reconciler(server)
        let summary = try await reconciler.runPass()
        #expect(summary.terminated.isEmpty, "\(summary.line)")
        let decision = try #require(summary.decisions.first { $0.clusterID == cluster })
        #expect(decision.disposition == .shared, "\(decision.reason)")
        #expect(decision.reason.contains(child), "\(decision.reason)")
        let row = try #require(try ledger.executions.rows()[child])
        #expect(row.record.parentExecutionARN == parent)
        #expect(row.record.status == .running)
        let terminate = try server.requests().filter {
            $0.headers["X-Amz-Target"] == "ElasticMapReduce.TerminateJobFlows"
        }
        #expect(terminate.isEmpty)
    }

    @Test("a redrive that starts and ends between two passes is found, and the cluster it created is terminated")
    func redriveBetweenPasses() async throws {
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:nightly"
        let run = "arn:aws:states:us-east-1:123456789012:execution:nightly:run-1"
        let definition =
            #"{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::elasticmapreduce:createCluster.sync","Parameters":{"Name":"x"},"Next":"F"},"F":{"Type":"Fail"}}}"#
        func json(_ object: [String: any Sendable]) -> [String: any Sendable] { ["json": object] }
        func create(_ id: Int, _ cluster: String) -> [[String: any Sendable]] {
            [
                [
                    "id": id, "previousEventId": id - 1, "type": "TaskScheduled", "timestamp": 1.7e9,
                    "taskScheduledEventDetails": [
                        "resourceType": "elasticmapreduce", "resource": "createCluster.sync", "region": "us-east-1",
                        "parameters": "{}",
                    ],
                ] as [String: any Sendable],
                [
                    "id": id + 1, "previousEventId": id, "type": "TaskSubmitted", "timestamp": 1.7e9,
                    "taskSubmittedEventDetails": [
                        "resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                        "output": "{\"ClusterId\":\"\(cluster)\"}",
                    ],
                ],
            ]
        }
        let first: [[String: any Sendable]] =
            [["id": 1, "type": "ExecutionStarted", "timestamp": 1.7e9] as [String: any Sendable]]
            + create(2, "j-FIRSTCLUSTER") + [
                ["id": 4, "previousEventId": 3, "type": "ExecutionFailed", "timestamp": 1.7e9 + 60]
                    as [String: any Sendable]
            ]
        // Redriven after the first pass, and failed again before the second: a new cluster.
        let again =
            first + [
                [
                    "id": 5, "previousEventId": 4, "type": "ExecutionRedriven", "timestamp": 1.7e9 + 100,
                    "executionRedrivenEventDetails": ["redriveCount": 1],
                ] as [String: any Sendable]
            ]
            + create(6, "j-REDRIVECLUSTER") + [
                ["id": 8, "previousEventId": 7, "type": "ExecutionFailed", "timestamp": 1.7e9 + 160]
                    as [String: any Sendable]
            ]
        func cluster(_ id: String) -> [String: any Sendable] {
            ["Id": id, "Name": "x", "Status": ["State": "WAITING"]]
        }
        let rules: [[String: any Sendable]] = [
            [
                "target": "ListStateMachines",
                "body": json([
                    "stateMachines": [
                        ["stateMachineArn": machine, "name": "nightly", "type": "STANDARD"] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeStateMachine",
                "body": json([
                    "stateMachineArn": machine, "name": "nightly", "definition": definition, "type": "STANDARD",
                    "revisionId": "rev-1",
                ]),
            ],
            ["target": "ListStateMachineVersions", "body": json(["stateMachineVersions": [] as [String]])],
            [
                "target": "ListExecutions", "body_contains": "REDRIVEN",
                "body": json([
                    "executions": [
                        [
                            "executionArn": run, "stateMachineArn": machine, "name": "run-1", "status": "FAILED",
                            "startDate": 1.7e9, "stopDate": 1.7e9 + 160, "redriveCount": 1, "redriveDate": 1.7e9 + 100,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            ["target": "ListExecutions", "body_contains": "RUNNING", "body": json(["executions": [] as [String]])],
            [
                "target": "ListExecutions", "times": 1,
                "body": json([
                    "executions": [
                        [
                            "executionArn": run, "stateMachineArn": machine, "name": "run-1", "status": "FAILED",
                            "startDate": 1.7e9, "stopDate": 1.7e9 + 60,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            // The newest-first listing of the second pass: the same execution (it started before), its stop date now later.
            [
                "target": "ListExecutions",
                "body": json([
                    "executions": [
                        [
                            "executionArn": run, "stateMachineArn": machine, "name": "run-1", "status": "FAILED",
                            "startDate": 1.7e9, "stopDate": 1.7e9 + 160,
                        ] as [String: any Sendable]
                    ]
                ]),
            ],
            [
                "target": "DescribeExecution", "times": 1,
                "body": json(
                    [
                        "executionArn": run, "stateMachineArn": machine, "status": "FAILED", "startDate": 1.7e9,
                        "stopDate": 1.7e9 + 60, "redriveStatus": "REDRIVABLE", "redriveCount": 0,
                    ]),
            ],
            [
                "target": "DescribeExecution",
                "body": json(
                    [
                        "executionArn": run, "stateMachineArn": machine, "status": "FAILED", "startDate": 1.7e9,
                        "stopDate": 1.7e9 + 160, "redriveStatus": "NOT_REDRIVABLE", "redriveCount": 1,
                    ]),
            ],
            ["target": "GetExecutionHistory", "times": 1, "body": json(["events": first])],
            ["target": "GetExecutionHistory", "body": json(["events": again])],
            ["target": "ListClusters", "times": 1, "body": json(["Clusters": [cluster("j-FIRSTCLUSTER")]])],
            ["target": "ListClusters", "body": json(["Clusters": [cluster("j-REDRIVECLUSTER")]])],
            [
                "target": "DescribeCluster", "body_contains": "j-FIRSTCLUSTER", "times": 1,
                "body": json([
                    "Cluster": [
                        "Id": "j-FIRSTCLUSTER", "Name": "x", "Status": ["State": "WAITING"],
                        "TerminationProtected": false, "Tags": [] as [String],
                    ] as [String: any Sendable]
                ]),
            ],
            [
                "target": "DescribeCluster", "body_contains": "j-FIRSTCLUSTER",
                "body": json([
                    "Cluster": [
                        "Id": "j-FIRSTCLUSTER", "Name": "x", "Status": ["State": "TERMINATED"],
                        "TerminationProtected": false, "Tags": [] as [String],
                    ] as [String: any Sendable]
                ]),
            ],
            [
                "target": "DescribeCluster",
                "body": json([
                    "Cluster": [
                        "Id": "j-REDRIVECLUSTER", "Name": "x", "Status": ["State": "WAITING"],
                        "TerminationProtected": false, "Tags": [] as [String],
                    ] as [String: any Sendable]
                ]),
            ],
            ["target": "ListInstanceGroups", "body": json(["InstanceGroups": [] as [String]])],
            ["target": "TerminateJobFlows", "body": json([:])],
        ]
        let server = try await ScriptedServer.start(rules: rules)
        defer { server.stop() }
        // Every pass is a definition refresh here, so every pass after the first checks for redrives (hourly in use).
        let (reconciler, ledger) = try await Self.reconciler(server) { $0.definitionRefresh = .zero }
        let firstPass = try await reconciler.runPass()
        #expect(firstPass.terminated == ["j-FIRSTCLUSTER"], "\(firstPass.line)")
        let second = try await reconciler.runPass()
        let seen = try server.requests().map { ($0.headers["X-Amz-Target"] ?? "") + " " + $0.body.prefix(120) }
        #expect(second.terminated == ["j-REDRIVECLUSTER"], "\(second.line) \(seen)")
        #expect(try ledger.executions.rows()[run]?.record.redriveCount == 1)
        let redrivenListings = try server.requests().filter {
            $0.headers["X-Amz-Target"] == "AWSStepFunctions.ListExecutions" && $0.body.contains("REDRIVEN")
        }
        #expect(redrivenListings.count == 1, "checked on the second pass only (the first found the machine new)")
        // Versions are listed when the machine is new or its revision changed, not at every definition refresh.
        let versionListings = try server.requests().filter {
            $0.headers["X-Amz-Target"] == "AWSStepFunctions.ListStateMachineVersions"
        }
        #expect(versionListings.count == 1)
    }
}
