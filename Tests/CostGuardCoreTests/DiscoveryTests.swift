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
        #expect(analysis.emrResources == ["arn:aws-cn:states:::elasticmapreduce:createCluster.sync", "arn:aws:states:::elasticmapreduce:addStep.sync"])
        let sdk = try DefinitionAnalysis.analyze(#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:emr:runJobFlow","End":true}}}"#).get()
        #expect(sdk.createsClusters && !sdk.referencesClusters)
        let none = try DefinitionAnalysis.analyze(#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#).get()
        #expect(!none.touchesEMR)
        #expect(throws: DefinitionAnalysis.Problem.self) { try DefinitionAnalysis.analyze("{not json").get() }
        #expect(throws: DefinitionAnalysis.Problem.self) { try DefinitionAnalysis.analyze(#"{"StartAt":"A"}"#).get() }
    }

    let t = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)

    func event(_ id: Int, _ type: String, previous: Int? = nil, resource: String? = nil, rtype: String = "elasticmapreduce",
               parameters: String? = nil, output: String? = nil, truncated: Bool? = nil) -> HistoryEventFact {
        HistoryEventFact(id: id, previousID: previous ?? id - 1, type: type, timestamp: t, resourceType: resource == nil ? nil : rtype,
                         resource: resource, parameters: parameters, output: output, outputTruncated: truncated)
    }

    @Test("createCluster.sync: the id comes from TaskSubmitted; a later null output never erases it")
    func createSync() {
        var analyzer = HistoryAnalyzer()
        analyzer.read([
            event(1, "ExecutionStarted"),
            event(2, "TaskStateEntered"),
            event(3, "TaskScheduled", resource: "createCluster.sync", parameters: #"{"Name":"c"}"#),
            event(4, "TaskStarted", resource: "createCluster.sync"),
            event(5, "TaskSubmitted", resource: "createCluster.sync", output: #"{"ClusterId":"j-ONE","ClusterArn":"arn"}"#),
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
            event(4, "TaskSucceeded", previous: 3, resource: "runJobFlow", rtype: "aws-sdk:emr", output: #"{"JobFlowId":"j-SDK"}"#),
            event(5, "TaskScheduled", resource: "addStep.sync", parameters: #"{"ClusterId":"j-OTHER","Step":{}}"#),
            event(6, "TaskScheduled", resource: "terminateCluster.sync", parameters: #"{"ClusterId":"j-SDK"}"#),
            event(7, "TaskSucceeded", previous: 6, resource: "terminateCluster.sync", output: "{}"),
            event(8, "TaskScheduled", resource: "setClusterTerminationProtection", parameters: #"{"TerminationProtected":true}"#),
            event(9, "TaskScheduled", resource: "createCluster", parameters: "{}"),
            event(10, "TaskSucceeded", previous: 9, resource: "createCluster", output: #"{"ClusterId":"j-CUT"}"#, truncated: true),
        ])
        // Resuming: earlier events are skipped, later ones read.
        analyzer.read([event(10, "TaskSucceeded", resource: "createCluster", output: #"{"ClusterId":"j-DUP"}"#),
                       event(11, "ExecutionFailed")])
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
}
