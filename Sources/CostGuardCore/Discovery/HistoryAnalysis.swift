/// One history event, reduced to what discovery reads. The AWS layer's event shape is mapped onto this so that the
/// analysis stays pure and testable.
public struct HistoryEventFact: Sendable, Hashable {
    public var id: Int
    public var previousID: Int?
    public var type: String
    public var timestamp: Timestamp
    /// `resourceType` and `resource` of Task events.
    public var resourceType: String?
    public var resource: String?
    /// TaskScheduled parameters (JSON text).
    public var parameters: String?
    /// TaskSubmitted / TaskSucceeded output (JSON text).
    public var output: String?
    /// `outputDetails.truncated`.
    public var outputTruncated: Bool?
    /// MapRunStarted.
    public var mapRunARN: String?
    /// ExecutionStarted `input` (JSON text) and whether AWS truncated it.
    public var input: String?
    public var inputTruncated: Bool?
    /// StateExited `assignedVariables` (name → JSON text) and whether AWS truncated them.
    public var assignedVariables: [String: String]?
    public var variablesTruncated: Bool?
    /// TaskScheduled `taskCredentials.roleArn`: the task ran with this role (possibly in another account).
    public var taskRoleARN: String?
    /// TaskScheduled `region`: the region the task called.
    public var taskRegion: String?

    public init(
        id: Int,
        previousID: Int? = nil,
        type: String,
        timestamp: Timestamp,
        resourceType: String? = nil,
        resource: String? = nil,
        parameters: String? = nil,
        output: String? = nil,
        outputTruncated: Bool? = nil,
        mapRunARN: String? = nil,
        input: String? = nil,
        inputTruncated: Bool? = nil,
        assignedVariables: [String: String]? = nil,
        variablesTruncated: Bool? = nil,
        taskRoleARN: String? = nil,
        taskRegion: String? = nil
    ) {
        self.id = id
        self.previousID = previousID
        self.type = type
        self.timestamp = timestamp
        self.resourceType = resourceType
        self.resource = resource
        self.parameters = parameters
        self.output = output
        self.outputTruncated = outputTruncated
        self.mapRunARN = mapRunARN
        self.input = input
        self.inputTruncated = inputTruncated
        self.assignedVariables = assignedVariables
        self.variablesTruncated = variablesTruncated
        self.taskRoleARN = taskRoleARN
        self.taskRegion = taskRegion
    }
}

/// What an execution's history proves about clusters.
public struct HistoryFindings: Sendable, Equatable {
    /// A cluster this execution created, and the event that proved it.
    public struct Creation: Sendable, Hashable {
        public var clusterID: String
        public var eventID: Int
        public var eventType: String
        public var resource: String
        /// The account the cluster was created in, when the task ran with another account's role
        /// (`Credentials.RoleArn`); `nil`: the execution's own account.
        public var account: String? = nil
        /// The region the task called, when the history says and it is not the execution's.
        public var region: String? = nil
    }

    /// A task of this execution that names a cluster, or a cluster id handed to it (its input, a task's
    /// parameters, a variable it assigned: kind `other`, `resource` saying where).
    public struct Reference: Sendable, Hashable {
        public var clusterID: String
        public var kind: String
        public var resource: String
        public var eventID: Int

        public init(clusterID: String, kind: String, resource: String, eventID: Int) {
            self.clusterID = clusterID
            self.kind = kind
            self.resource = resource
            self.eventID = eventID
        }
    }

    /// A step this execution gave a cluster: at creation (`Steps`, by name) or with addStep / addJobFlowSteps (by
    /// name when scheduled, by id once reported). A step no workflow gave a cluster makes it busy.
    public struct Step: Sendable, Hashable {
        public var clusterID: String
        /// EMR's step id (`s-…`), or empty when only the name is known.
        public var stepID: String
        /// The step's name, or empty when only the id is known.
        public var name: String
        public var eventID: Int

        public init(clusterID: String, stepID: String = "", name: String = "", eventID: Int) {
            self.clusterID = clusterID
            self.stepID = stepID
            self.name = name
            self.eventID = eventID
        }
    }

    /// A task that names instance groups or fleets (`ig-…`, `if-…`) of a cluster it does not name
    /// (`modifyInstanceGroups` by `InstanceGroupId`): it uses whichever cluster owns them.
    public struct UnitReference: Sendable, Hashable {
        public var unitID: String
        public var resource: String
        public var eventID: Int

        public init(unitID: String, resource: String, eventID: Int) {
            self.unitID = unitID
            self.resource = resource
            self.eventID = eventID
        }
    }

    public var creations: [Creation] = []
    public var references: [Reference] = []
    public var unitReferences: [UnitReference] = []
    public var steps: [Step] = []
    /// Clusters the execution terminated itself (terminateCluster that succeeded).
    public var terminatedItself: Set<String> = []
    /// Why some of this history could not be understood; non-empty makes the execution's clusters "unknown".
    public var problems: [String] = []
    /// Distributed Map runs started by this execution.
    public var mapRunARNs: [String] = []
    /// Child executions started by `states:startExecution` tasks.
    public var childExecutionARNs: [String] = []
    /// The last event id read.
    public var lastEventID = 0
    /// The execution was redriven at least once.
    public var redriven = false
    /// When the execution ended (its ExecutionAborted/Failed/TimedOut/Succeeded event), if the history says.
    public var endedAt: Timestamp?

    public init() {}
}

/// Reads histories, incrementally: feed pages in order, then ask for the findings.
///
/// Rules (fail closed):
/// - A cluster id comes from the output of a createCluster/runJobFlow task's TaskSubmitted (written before the
///   cluster is WAITING for `.sync`) or TaskSucceeded; `ClusterId` and `JobFlowId` are both accepted. An id once
///   learned is never erased by a later event with a null output.
/// - A truncated or unparsable create output, or a create task that started and never reported back, is a problem:
///   a cluster may exist that CostGuard cannot name.
/// - Other EMR tasks name their cluster in the TaskScheduled parameters wherever the EMR API puts it (`EMRAction`);
///   an action that takes a cluster and names none is a problem, since the task may act on any cluster; an action
///   that takes none (`listClusters`, `describeSecurityConfiguration`, …) is neither a reference nor a problem.
/// - A cluster id handed to the execution — in its input, in any task's parameters (Lambda payloads, child
///   executions' input, `aws-sdk:*` calls), in a variable a state assigned — is a reference of kind `other`: while
///   the execution runs it may still use that cluster. Truncated input or variables are a problem.
/// - A task that names only instance groups or fleets (`modifyInstanceGroups` by `InstanceGroupId`) is a unit
///   reference: the cluster owning them is found by reading the groups of each cluster about to be terminated.
/// - A create task run with another account's role (`Credentials.RoleArn`) created its cluster in that account.
public struct HistoryAnalyzer: Sendable {
    public private(set) var findings = HistoryFindings()
    /// Create tasks scheduled and not yet resolved, by TaskScheduled event id.
    private var pendingCreates: [Int: String] = [:]
    /// terminateCluster tasks scheduled: event id → cluster id.
    private var pendingTerminations: [Int: String] = [:]
    /// previousEventId links, to find the TaskScheduled that a later task event belongs to.
    private var previous: [Int: Int] = [:]
    private var scheduledIDs: Set<Int> = []
    private var knownClusters: Set<String> = []
    /// Step names of create tasks scheduled (`Steps`), by TaskScheduled event id, until the cluster id is known.
    private var pendingCreateSteps: [Int: [String]] = [:]
    /// addStep / addJobFlowSteps tasks scheduled: event id → cluster id, to record the step ids they report.
    private var pendingStepTasks: [Int: String] = [:]
    /// Create tasks scheduled with another account's role or another region, by TaskScheduled event id.
    private var pendingCreatePlaces: [Int: (account: String?, region: String?)] = [:]
    /// Ids already recorded as handed to this execution (one reference per id and place is enough).
    private var mentioned: Set<String> = []

    public init(resumingAfter lastEventID: Int = 0, knownClusters: Set<String> = []) {
        findings.lastEventID = lastEventID
        self.knownClusters = knownClusters
    }

    /// Reads the next events (ids increasing); events at or before `lastEventID` are skipped.
    public mutating func read(_ events: [HistoryEventFact]) {
        for event in events where event.id > findings.lastEventID {
            findings.lastEventID = event.id
            if let previousID = event.previousID { previous[event.id] = previousID }
            handle(event)
        }
    }

    /// The findings, with any create task still unresolved reported as a problem when `final` is true (the
    /// execution has ended, so no later event will resolve it).
    public func finish(executionEnded: Bool) -> HistoryFindings {
        var result = findings
        if executionEnded {
            for (eventID, resource) in pendingCreates.sorted(by: { $0.key < $1.key }) {
                result.problems.append(
                    "\(resource) task scheduled at event \(eventID) never reported a cluster id: a cluster may exist "
                        + "that CostGuard cannot name"
                )
            }
        }
        return result
    }

    private mutating func handle(_ event: HistoryEventFact) {
        // Variables come with every kind of state's exit event (TaskStateExited, PassStateExited, …).
        if event.variablesTruncated == true {
            findings.problems.append(
                "the variables assigned at event \(event.id) are truncated: they may name a cluster"
            )
        }
        if let variables = event.assignedVariables {
            for (name, value) in variables.sorted(by: { $0.key < $1.key }) {
                mention(value, at: event.id, where: "variable $\(name)")
            }
        }
        switch event.type {
        case "ExecutionRedriven":
            findings.redriven = true
            findings.endedAt = nil
        case "ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut", "ExecutionSucceeded":
            findings.endedAt = event.timestamp
        case "MapRunStarted":
            if let arn = event.mapRunARN { findings.mapRunARNs.append(arn) }
        case "ExecutionStarted":
            if event.inputTruncated == true {
                findings.problems.append(
                    "the input of the execution (event \(event.id)) is truncated: it may name a cluster"
                )
            }
            mention(event.input, at: event.id, where: "execution input")
        case "TaskScheduled":
            guard let type = event.resourceType, let resource = event.resource else { return }
            scheduledIDs.insert(event.id)
            let task = TaskResource(resourceType: type, resource: resource)
            var named: [String] = []
            switch task.kind {
            case .createsCluster:
                pendingCreates[event.id] = "\(type):\(resource)"
                let names = Self.stepNames(in: event.parameters.flatMap { try? JSONValue(parsing: $0) } ?? .null)
                if !names.isEmpty { pendingCreateSteps[event.id] = names }
                let account = event.taskRoleARN.flatMap(Self.account(ofRoleARN:))
                if account != nil || event.taskRegion != nil {
                    pendingCreatePlaces[event.id] = (account, event.taskRegion)
                }
                return
            case .usesCluster(let action):
                let parameters = event.parameters.flatMap { try? JSONValue(parsing: $0) } ?? .null
                named = EMRAction.clusterIDs(in: parameters)
                if named.isEmpty {
                    switch EMRAction.target(of: action) {
                    case .none:
                        break
                    case .optionalCluster where !EMRAction.namesOtherEMRResources(parameters):
                        break
                    case .optionalCluster where !EMRAction.unitIDs(in: parameters).isEmpty:
                        // The cluster that owns these groups is found before acting (its groups are read then).
                        for unit in EMRAction.unitIDs(in: parameters) {
                            findings.unitReferences.append(
                                .init(unitID: unit, resource: "\(type):\(resource)", eventID: event.id)
                            )
                        }
                    case .cluster where EMRAction.namesNonClusterResource(parameters):
                        break
                    default:
                        findings.problems.append(
                            "\(type):\(resource) at event \(event.id) does not name its cluster in its parameters"
                        )
                    }
                }
                if Self.addsSteps(action), let cluster = named.first {
                    pendingStepTasks[event.id] = cluster
                    for name in Self.stepNames(in: parameters) {
                        findings.steps.append(.init(clusterID: cluster, name: name, eventID: event.id))
                    }
                }
                for id in named {
                    findings.references.append(
                        .init(
                            clusterID: id,
                            kind: Self.referenceKind(action),
                            resource: "\(type):\(resource)",
                            eventID: event.id
                        )
                    )
                    if action == "terminateCluster" || action.lowercased() == "terminatejobflows" {
                        pendingTerminations[event.id] = id
                    }
                }
            default:
                break
            }
            // Any task's parameters (a Lambda payload, a child execution's input, an SDK call) hand a cluster on.
            mention(event.parameters, at: event.id, where: "parameters of \(type):\(resource)", except: named)
        case "TaskSubmitted", "TaskSucceeded":
            guard let type = event.resourceType, let resource = event.resource else { return }
            let task = TaskResource(resourceType: type, resource: resource)
            let scheduled = scheduledEvent(of: event.id)
            switch task.kind {
            case .createsCluster:
                if event.outputTruncated == true {
                    findings.problems.append("the output of \(type):\(resource) at event \(event.id) is truncated")
                    return
                }
                guard let output = event.output, output != "null", !output.isEmpty else { return }
                guard let id = Self.clusterID(inOutput: output) else {
                    if event.type == "TaskSucceeded" || pendingCreates[scheduled ?? -1] != nil {
                        findings.problems.append(
                            "the output of \(type):\(resource) at event \(event.id) has no ClusterId or JobFlowId"
                        )
                    }
                    return
                }
                let resolved = scheduled ?? pendingCreates.keys.min()
                if let resolved { pendingCreates[resolved] = nil }
                if let resolved, let names = pendingCreateSteps.removeValue(forKey: resolved) {
                    for name in names { findings.steps.append(.init(clusterID: id, name: name, eventID: event.id)) }
                }
                if knownClusters.insert(id).inserted {
                    let place = resolved.flatMap { pendingCreatePlaces[$0] }
                    findings.creations.append(
                        .init(
                            clusterID: id,
                            eventID: event.id,
                            eventType: event.type,
                            resource: "\(type):\(resource)",
                            account: place?.account,
                            region: place?.region
                        )
                    )
                }
            case .usesCluster:
                if event.type == "TaskSucceeded", let scheduled,
                    let id = pendingTerminations.removeValue(forKey: scheduled)
                {
                    findings.terminatedItself.insert(id)
                }
                if let scheduled, let cluster = pendingStepTasks[scheduled], let output = event.output,
                    let value = try? JSONValue(parsing: output)
                {
                    let ids = ([value["StepId"]] + (value["StepIds"]?.array ?? []).map(Optional.some)).compactMap {
                        $0?.string
                    }
                    for stepID in ids
                    where !findings.steps.contains(where: { $0.clusterID == cluster && $0.stepID == stepID }) {
                        findings.steps.append(.init(clusterID: cluster, stepID: stepID, eventID: event.id))
                    }
                }
            case .startsExecution:
                if let output = event.output, let child = Self.string("ExecutionArn", inJSON: output) {
                    if !findings.childExecutionARNs.contains(child) { findings.childExecutionARNs.append(child) }
                }
            case .other:
                break
            }
        case "TaskFailed", "TaskStartFailed", "TaskSubmitFailed", "TaskTimedOut":
            // A create task that failed before reporting an id created nothing that CostGuard could name. If it
            // failed after TaskSubmitted, the id is already known.
            if let scheduled = scheduledEvent(of: event.id), let resource = pendingCreates[scheduled] {
                if event.type == "TaskTimedOut" {
                    findings.problems.append(
                        "\(resource) task scheduled at event \(scheduled) timed out before reporting a cluster id"
                    )
                }
                pendingCreates[scheduled] = nil
            }
        default:
            break
        }
    }

    /// Records the cluster ids `json` mentions as references of kind `other` (a hand-off), except `known` ones.
    private mutating func mention(_ json: String?, at eventID: Int, where place: String, except known: [String] = []) {
        guard let json else { return }
        for id in ClusterMentions.ids(inJSON: json) where !known.contains(id) {
            guard mentioned.insert(id + "\u{0}" + place).inserted else { continue }
            findings.references.append(.init(clusterID: id, kind: "other", resource: place, eventID: eventID))
        }
    }

    /// The account of an IAM role ARN (`arn:aws:iam::123456789012:role/name`).
    static func account(ofRoleARN arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[4].count == 12 else { return nil }
        return String(parts[4])
    }

    /// The TaskScheduled event a task event belongs to, following previousEventId links (a few steps at most).
    private func scheduledEvent(of id: Int) -> Int? {
        var current = previous[id]
        for _ in 0..<6 {
            guard let step = current else { return nil }
            if scheduledIDs.contains(step) { return step }
            current = previous[step]
        }
        return nil
    }

    /// Whether an EMR action adds steps (`addStep`, `addJobFlowSteps`).
    static func addsSteps(_ action: String) -> Bool {
        let name = action.lowercased()
        return name == "addstep" || name == "addjobflowsteps"
    }

    /// The step names in task parameters: `Step.Name` (addStep) or `Steps[].Name` (createCluster, runJobFlow,
    /// addJobFlowSteps).
    static func stepNames(in parameters: JSONValue) -> [String] {
        var names: [String] = []
        if let name = parameters["Step"]?["Name"]?.string { names.append(name) }
        for step in parameters["Steps"]?.array ?? [] {
            if let name = step["Name"]?.string { names.append(name) }
        }
        return names
    }

    static func referenceKind(_ action: String) -> String {
        switch action {
        case "addStep", "cancelStep", "setClusterTerminationProtection", "terminateCluster",
            "modifyInstanceFleetByName",
            "modifyInstanceGroupByName":
            return action
        default:
            return "other"
        }
    }

    /// The cluster id in a create task's output.
    static func clusterID(inOutput output: String) -> String? {
        for key in ["ClusterId", "JobFlowId"] {
            if let id = string(key, inJSON: output), id.hasPrefix("j-") { return id }
        }
        return nil
    }

    static func string(_ key: String, inJSON text: String) -> String? {
        (try? JSONValue(parsing: text))?[key]?.string
    }
}
