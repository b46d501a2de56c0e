import CostGuardCore
import Foundation
import Testing

@Suite("Definition and history analysis")
struct DiscoveryTests {
    @Test("tasks are found in Parallel branches, Map ItemProcessor/Iterator and nested definitions")
    func definitions() throws {
        let definition = """
            {"StartAt": "P", "States": {
              "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {
                   "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                   "StartAt": "C", "States": {"C": {"Type": "Task", "Resource": "arn:aws-cn:states:::elasticmapreduce:createCluster.sync", "End": true}}}, "End": true}}},
                {"StartAt": "I", "States": {"I": {"Type": "Map", "Iterator": {"StartAt": "S", "States": {
                   "S": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync", "End": true}}}, "End": true}}}
              ], "Next": "K"},
              "K": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": true}}}
            """
        let analysis = try DefinitionAnalysis.analyze(definition).get()
        #expect(analysis.createsClusters)
        #expect(analysis.referencesClusters)
        #expect(analysis.startsExecutions)
        #expect(analysis.hasDistributedMap)
        #expect(
            analysis.emrResources == [
                "arn:aws-cn:states:::elasticmapreduce:createCluster.sync",
                "arn:aws:states:::elasticmapreduce:addStep.sync",
            ]
        )
        let sdk = try DefinitionAnalysis.analyze(
            #"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:emr:runJobFlow","End":true}}}"#
        ).get()
        #expect(sdk.createsClusters && !sdk.referencesClusters)
        let none = try DefinitionAnalysis.analyze(#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#).get()
        #expect(!none.touchesEMR)
        #expect(throws: DefinitionAnalysis.Problem.self) { try DefinitionAnalysis.analyze("{not json").get() }
        #expect(throws: DefinitionAnalysis.Problem.self) { try DefinitionAnalysis.analyze(#"{"StartAt":"A"}"#).get() }
    }

    let t = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)

    func event(
        _ id: Int,
        _ type: String,
        previous: Int? = nil,
        resource: String? = nil,
        rtype: String = "elasticmapreduce",
        parameters: String? = nil,
        output: String? = nil,
        truncated: Bool? = nil
    ) -> HistoryEventFact {
        HistoryEventFact(
            id: id,
            previousID: previous ?? id - 1,
            type: type,
            timestamp: t,
            resourceType: resource == nil ? nil : rtype,
            resource: resource,
            parameters: parameters,
            output: output,
            outputTruncated: truncated
        )
    }

    @Test("createCluster.sync: the id comes from TaskSubmitted; a later null output never erases it")
    func createSync() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            event(1, "ExecutionStarted"),
            event(2, "TaskStateEntered"),
            event(3, "TaskScheduled", resource: "createCluster.sync", parameters: #"{"Name":"c"}"#),
            event(4, "TaskStarted", resource: "createCluster.sync"),
            event(
                5,
                "TaskSubmitted",
                resource: "createCluster.sync",
                output: #"{"ClusterId":"j-ONE","ClusterArn":"arn"}"#
            ),
            event(6, "TaskSucceeded", resource: "createCluster.sync", output: "null"),
            event(7, "ExecutionAborted"),
        ])
        let findings = analyzer.finish(executionEnded: true)
        #expect(findings.creations.map(\.clusterID) == ["j-ONE"])
        #expect(findings.creations.first?.eventID == 5)
        #expect(findings.problems.isEmpty)
        #expect(findings.lastEventID == 7)
    }

    @Test("references, self-termination, JobFlowId outputs, truncation and unnamed clusters")
    func referencesAndProblems() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            event(3, "TaskScheduled", resource: "runJobFlow", rtype: "aws-sdk:emr", parameters: "{}"),
            event(
                4,
                "TaskSucceeded",
                previous: 3,
                resource: "runJobFlow",
                rtype: "aws-sdk:emr",
                output: #"{"JobFlowId":"j-SDK"}"#
            ),
            event(5, "TaskScheduled", resource: "addStep.sync", parameters: #"{"ClusterId":"j-OTHER","Step":{}}"#),
            event(6, "TaskScheduled", resource: "terminateCluster.sync", parameters: #"{"ClusterId":"j-SDK"}"#),
            event(7, "TaskSucceeded", previous: 6, resource: "terminateCluster.sync", output: "{}"),
            event(
                8,
                "TaskScheduled",
                resource: "setClusterTerminationProtection",
                parameters: #"{"TerminationProtected":true}"#
            ),
            event(9, "TaskScheduled", resource: "createCluster", parameters: "{}"),
            event(
                10,
                "TaskSucceeded",
                previous: 9,
                resource: "createCluster",
                output: #"{"ClusterId":"j-CUT"}"#,
                truncated: true
            ),
        ])
        // Resuming: earlier events are skipped, later ones read.
        analyzer.read([
            event(10, "TaskSucceeded", resource: "createCluster", output: #"{"ClusterId":"j-DUP"}"#),
            event(11, "ExecutionFailed"),
        ])
        let findings = analyzer.finish(executionEnded: true)
        #expect(findings.creations.map(\.clusterID) == ["j-SDK"])
        #expect(findings.references.map(\.clusterID) == ["j-OTHER", "j-SDK"])
        #expect(findings.references.map(\.kind) == ["addStep", "terminateCluster"])
        #expect(findings.terminatedItself == ["j-SDK"])
        #expect(findings.problems.count == 3, "\(findings.problems)")
        #expect(findings.problems.contains { $0.contains("does not name its cluster") })
        #expect(findings.problems.contains { $0.contains("truncated") })
        #expect(findings.problems.contains { $0.contains("never reported a cluster id") })
    }

    @Test("a create task that failed before submitting created nothing; one cut off by the end is a problem")
    func failedCreate() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            event(3, "TaskScheduled", resource: "createCluster.sync", parameters: "{}"),
            event(4, "TaskStarted", resource: "createCluster.sync"),
            event(5, "TaskFailed", resource: "createCluster.sync"),
            event(6, "TaskScheduled", resource: "createCluster.sync", parameters: "{}"),
            event(7, "TaskStarted", resource: "createCluster.sync"),
        ])
        #expect(analyzer.finish(executionEnded: false).problems.isEmpty, "a running task may still report")
        analyzer.read([event(8, "ExecutionAborted")])
        let findings = analyzer.finish(executionEnded: true)
        #expect(findings.creations.isEmpty)
        #expect(findings.problems.count == 1)
        #expect(findings.problems.first?.contains("event 6") == true)
    }

    @Test("aws-sdk:emr tasks: the cluster is read wherever the API puts it; actions that take none are no problem")
    func sdkActions() {
        var analyzer = HistoryAnalyzer()
        let sdk = "aws-sdk:emr"
        analyzer.read([
            event(
                1,
                "TaskScheduled",
                resource: "listClusters",
                rtype: sdk,
                parameters: #"{"ClusterStates":["WAITING"]}"#
            ),
            event(
                2,
                "TaskScheduled",
                resource: "describeSecurityConfiguration",
                rtype: sdk,
                parameters: #"{"Name":"s"}"#
            ),
            event(
                3,
                "TaskScheduled",
                resource: "addTags",
                rtype: sdk,
                parameters: #"{"ResourceId":"j-TAGGED","Tags":[]}"#
            ),
            event(
                4,
                "TaskScheduled",
                resource: "startNotebookExecution",
                rtype: sdk,
                parameters: #"{"ExecutionEngine":{"Id":"j-NOTEBOOK","Type":"EMR"}}"#
            ),
            event(
                5,
                "TaskScheduled",
                resource: "createPersistentAppUI",
                rtype: sdk,
                parameters: #"{"TargetResourceArn":"arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/j-APPUI"}"#
            ),
            event(
                6,
                "TaskScheduled",
                resource: "setTerminationProtection",
                rtype: sdk,
                parameters: #"{"JobFlowIds":["j-P1","j-P2"],"TerminationProtected":true}"#
            ),
            event(
                7,
                "TaskScheduled",
                resource: "describeJobFlows",
                rtype: sdk,
                parameters: #"{"JobFlowStates":["WAITING"]}"#
            ),
            event(
                8,
                "TaskScheduled",
                resource: "addTags",
                rtype: sdk,
                parameters: #"{"ResourceId":"es-STUDIO","Tags":[]}"#
            ),
        ])
        var findings = analyzer.finish(executionEnded: false)
        #expect(findings.references.map(\.clusterID) == ["j-TAGGED", "j-NOTEBOOK", "j-APPUI", "j-P1", "j-P2"])
        #expect(findings.problems.isEmpty, "\(findings.problems)")
        // Instance groups named without their cluster: a unit reference, resolved by reading the groups of the
        // clusters about to be terminated. Not a problem.
        analyzer.read([
            event(
                9,
                "TaskScheduled",
                resource: "modifyInstanceGroups",
                rtype: sdk,
                parameters:
                    #"{"InstanceGroups":[{"InstanceGroupId":"ig-1","InstanceCount":3},{"InstanceGroupId":"ig-2"}]}"#
            )
        ])
        findings = analyzer.finish(executionEnded: false)
        #expect(findings.unitReferences.map(\.unitID) == ["ig-1", "ig-2"])
        #expect(
            findings.unitReferences.allSatisfy { $0.resource == "aws-sdk:emr:modifyInstanceGroups" && $0.eventID == 9 }
        )
        #expect(findings.problems.isEmpty, "\(findings.problems)")
        #expect(
            EMRAction.unitIDs(in: try! JSONValue(parsing: #"{"InstanceFleet":{"InstanceFleetId":"if-9"}}"#)) == ["if-9"]
        )
        // A call that acts on a cluster it does not name, with no id to find it by, is a problem: it may act on any.
        analyzer.read([
            event(
                10,
                "TaskScheduled",
                resource: "modifyInstanceGroups",
                rtype: sdk,
                parameters: #"{"InstanceGroups":[{"InstanceGroupId":7,"InstanceCount":3}]}"#
            ),
            event(11, "TaskScheduled", resource: "someFutureAction", rtype: sdk, parameters: "{}"),
        ])
        findings = analyzer.finish(executionEnded: false)
        #expect(findings.problems.count == 2)
        #expect(findings.problems.allSatisfy { $0.contains("does not name its cluster") })
        #expect(EMRAction.target(of: "ListClusters") == .none)
        #expect(EMRAction.target(of: "terminateJobFlows") == .cluster)
    }

    @Test("a cluster id handed on — input, any task's parameters, assigned variables — is a reference")
    func handOffs() {
        let id = "j-2AXXXXXXGAPLF"
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            HistoryEventFact(
                id: 1,
                type: "ExecutionStarted",
                timestamp: t,
                input: #"{"cluster":{"ClusterId":"\#(id)"}}"#
            ),
            event(
                2,
                "TaskScheduled",
                resource: "invoke",
                rtype: "lambda",
                parameters: #"{"FunctionName":"f","Payload":{"cmd":"spark-submit --cluster j-LAMBDAPAYLOAD1 x"}}"#
            ),
            HistoryEventFact(
                id: 3,
                type: "PassStateExited",
                timestamp: t,
                assignedVariables: ["target": #""j-VARIABLE00001""#]
            ),
            event(
                4,
                "TaskScheduled",
                resource: "startExecution",
                rtype: "aws-sdk:sfn",
                parameters: #"{"StateMachineArn":"arn","Input":"{\"ClusterId\":\"j-CHILDINPUT01\"}"}"#
            ),
            event(
                5,
                "TaskSucceeded",
                previous: 4,
                resource: "startExecution",
                rtype: "aws-sdk:sfn",
                output: #"{"ExecutionArn":"arn:aws:states:us-east-1:123456789012:execution:worker:w1"}"#
            ),
            // Not ids: too short, inside a longer word, lower case.
            HistoryEventFact(
                id: 6,
                type: "TaskStateExited",
                timestamp: t,
                assignedVariables: ["a": #""j-SHORT""#, "b": #""xj-ABCDEFGHIJ""#, "c": #""j-abcdefghijk""#]
            ),
        ])
        let findings = analyzer.finish(executionEnded: false)
        #expect(findings.references.map(\.clusterID) == [id, "j-LAMBDAPAYLOAD1", "j-VARIABLE00001", "j-CHILDINPUT01"])
        #expect(findings.references.allSatisfy { $0.kind == "other" })
        #expect(
            findings.references.map(\.resource) == [
                "execution input", "parameters of lambda:invoke", "variable $target",
                "parameters of aws-sdk:sfn:startExecution",
            ]
        )
        #expect(findings.childExecutionARNs == ["arn:aws:states:us-east-1:123456789012:execution:worker:w1"])
        #expect(findings.problems.isEmpty)
        var cut = HistoryAnalyzer()
        cut.read([HistoryEventFact(id: 1, type: "ExecutionStarted", timestamp: t, input: "{}", inputTruncated: true)])
        #expect(cut.finish(executionEnded: false).problems.first?.contains("truncated") == true)
    }

    @Test("a create task run with another account's role records the cluster in that account")
    func crossAccountCreation() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            HistoryEventFact(
                id: 3,
                type: "TaskScheduled",
                timestamp: t,
                resourceType: "elasticmapreduce",
                resource: "createCluster.sync",
                parameters: "{}",
                taskRoleARN: "arn:aws:iam::222222222222:role/emr-creator",
                taskRegion: "eu-west-1"
            ),
            event(
                4,
                "TaskSubmitted",
                previous: 3,
                resource: "createCluster.sync",
                output: #"{"ClusterId":"j-REMOTE"}"#
            ),
        ])
        let creation = analyzer.finish(executionEnded: false).creations.first
        #expect(creation?.clusterID == "j-REMOTE")
        #expect(creation?.account == "222222222222")
        #expect(creation?.region == "eu-west-1")
    }

    @Test("the steps a workflow gave its clusters: at creation by name, by addStep by name and then by id")
    func steps() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            event(
                3,
                "TaskScheduled",
                resource: "createCluster.sync",
                parameters: #"{"Name":"c","Steps":[{"Name":"setup"}]}"#
            ),
            event(4, "TaskSubmitted", previous: 3, resource: "createCluster.sync", output: #"{"ClusterId":"j-STEPS"}"#),
            event(
                5,
                "TaskScheduled",
                resource: "addStep.sync",
                parameters: #"{"ClusterId":"j-STEPS","Step":{"Name":"etl"}}"#
            ),
            event(6, "TaskSubmitted", previous: 5, resource: "addStep.sync", output: #"{"StepId":"s-ETL"}"#),
            event(
                7,
                "TaskScheduled",
                resource: "addJobFlowSteps",
                rtype: "aws-sdk:emr",
                parameters: #"{"JobFlowId":"j-STEPS","Steps":[{"Name":"a"},{"Name":"b"}]}"#
            ),
            event(
                8,
                "TaskSucceeded",
                previous: 7,
                resource: "addJobFlowSteps",
                rtype: "aws-sdk:emr",
                output: #"{"StepIds":["s-A","s-B"]}"#
            ),
        ])
        let steps = analyzer.finish(executionEnded: false).steps
        #expect(steps.allSatisfy { $0.clusterID == "j-STEPS" })
        #expect(steps.map(\.name).filter { !$0.isEmpty } == ["setup", "etl", "a", "b"])
        #expect(steps.map(\.stepID).filter { !$0.isEmpty } == ["s-ETL", "s-A", "s-B"])
    }
}
