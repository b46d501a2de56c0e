public import CostGuardCore

/// Step Functions request and response shapes (the fields CostGuard uses; others are ignored when decoding).
public enum SFN {
    public struct StateMachineListItem: Codable, Sendable, Equatable {
        public var stateMachineArn: String
        public var name: String
        public var type: String?
        public var creationDate: Timestamp?
    }

    public struct ListStateMachinesOutput: Codable, Sendable, Equatable {
        public var stateMachines: [StateMachineListItem]
        public var nextToken: String?
    }

    public struct DescribeStateMachineOutput: Codable, Sendable, Equatable {
        public var stateMachineArn: String
        public var name: String
        public var status: String?
        public var definition: String
        public var roleArn: String?
        public var type: String?
        public var creationDate: Timestamp?
        public var revisionId: String?
    }

    public struct ExecutionListItem: Codable, Sendable, Equatable {
        public var executionArn: String
        public var stateMachineArn: String
        public var name: String?
        public var status: String
        public var startDate: Timestamp
        public var stopDate: Timestamp?
        public var mapRunArn: String?
        public var redriveCount: Int?
        public var redriveDate: Timestamp?
        /// The version the execution ran, when it was started on a version or an alias.
        public var stateMachineVersionArn: String? = nil
        /// The alias it was started through, if any.
        public var stateMachineAliasArn: String? = nil
    }

    public struct ListExecutionsOutput: Codable, Sendable, Equatable {
        public var executions: [ExecutionListItem]
        public var nextToken: String?
    }

    public struct DescribeExecutionOutput: Codable, Sendable, Equatable {
        public var executionArn: String
        public var stateMachineArn: String
        public var name: String?
        public var status: String
        public var startDate: Timestamp
        public var stopDate: Timestamp?
        public var mapRunArn: String?
        public var redriveCount: Int?
        public var redriveDate: Timestamp?
        public var stateMachineVersionArn: String?
        public var stateMachineAliasArn: String?
        /// Absent in older API versions and in emulators: treat absent as not redrivable.
        public var redriveStatus: String?
        public var redriveStatusReason: String?
        public var error: String?
        public var cause: String?
    }

    public struct TaskScheduledDetails: Codable, Sendable, Equatable {
        public var resourceType: String
        public var resource: String
        public var region: String?
        /// JSON text of the task's parameters.
        public var parameters: String?
        /// The role the task ran with (`Credentials.RoleArn` in the definition).
        public var taskCredentials: TaskCredentials?
    }

    public struct TaskCredentials: Codable, Sendable, Equatable {
        public var roleArn: String?
    }

    public struct ExecutionStartedDetails: Codable, Sendable, Equatable {
        /// JSON text of the execution's input.
        public var input: String?
        public var inputDetails: OutputDetails?
        public var stateMachineVersionArn: String?
        public var stateMachineAliasArn: String?
    }

    public struct StateExitedDetails: Codable, Sendable, Equatable {
        public var name: String?
        /// Variables the state assigned: name → JSON text of the value.
        public var assignedVariables: [String: String]?
        public var assignedVariablesDetails: OutputDetails?
    }

    public struct OutputDetails: Codable, Sendable, Equatable {
        public var truncated: Bool?
    }

    /// `resourceType`/`resource` are required by the API model but missing from some emulators' events: optional.
    public struct TaskOutputDetails: Codable, Sendable, Equatable {
        public var resourceType: String?
        public var resource: String?
        /// JSON text of the output (the service's response).
        public var output: String?
        public var outputDetails: OutputDetails?
    }

    public struct TaskFailedDetails: Codable, Sendable, Equatable {
        public var resourceType: String?
        public var resource: String?
        public var error: String?
        public var cause: String?
    }

    public struct MapRunStartedDetails: Codable, Sendable, Equatable {
        public var mapRunArn: String?
    }

    public struct ExecutionRedrivenDetails: Codable, Sendable, Equatable {
        public var redriveCount: Int?
    }

    public struct HistoryEvent: Codable, Sendable, Equatable {
        public var timestamp: Timestamp
        public var type: String
        public var id: Int
        public var previousEventId: Int?
        public var taskScheduledEventDetails: TaskScheduledDetails?
        public var taskSubmittedEventDetails: TaskOutputDetails?
        public var taskSucceededEventDetails: TaskOutputDetails?
        public var taskFailedEventDetails: TaskFailedDetails?
        public var taskTimedOutEventDetails: TaskFailedDetails?
        public var mapRunStartedEventDetails: MapRunStartedDetails?
        public var executionRedrivenEventDetails: ExecutionRedrivenDetails?
        public var executionStartedEventDetails: ExecutionStartedDetails?
        public var stateExitedEventDetails: StateExitedDetails?
    }

    public struct GetExecutionHistoryOutput: Codable, Sendable {
        public var events: [HistoryEvent]
        public var nextToken: String?
    }

    public struct StateMachineVersionListItem: Codable, Sendable, Equatable {
        public var stateMachineVersionArn: String
        public var creationDate: Timestamp?
    }

    public struct ListStateMachineVersionsOutput: Codable, Sendable, Equatable {
        public var stateMachineVersions: [StateMachineVersionListItem]
        public var nextToken: String?
    }

    public struct MapRunListItem: Codable, Sendable, Equatable {
        public var executionArn: String
        public var mapRunArn: String
        public var stateMachineArn: String
        public var startDate: Timestamp
        public var stopDate: Timestamp?
    }

    public struct ListMapRunsOutput: Codable, Sendable {
        public var mapRuns: [MapRunListItem]
        public var nextToken: String?
    }
}

extension SFN.HistoryEvent {
    /// What history analysis needs of the event.
    public var fact: HistoryEventFact {
        let scheduled = taskScheduledEventDetails
        let output = taskSubmittedEventDetails ?? taskSucceededEventDetails
        let failed = taskFailedEventDetails ?? taskTimedOutEventDetails
        return HistoryEventFact(
            id: id,
            previousID: previousEventId,
            type: type,
            timestamp: timestamp,
            resourceType: scheduled?.resourceType ?? output?.resourceType ?? failed?.resourceType,
            resource: scheduled?.resource ?? output?.resource ?? failed?.resource,
            parameters: scheduled?.parameters,
            output: output?.output,
            outputTruncated: output?.outputDetails?.truncated,
            mapRunARN: mapRunStartedEventDetails?.mapRunArn,
            input: executionStartedEventDetails?.input,
            inputTruncated: executionStartedEventDetails?.inputDetails?.truncated,
            assignedVariables: stateExitedEventDetails?.assignedVariables,
            variablesTruncated: stateExitedEventDetails?.assignedVariablesDetails?.truncated,
            taskRoleARN: scheduled?.taskCredentials?.roleArn,
            taskRegion: scheduled?.region
        )
    }
}

// Read by hand (`JSONReader`): a steady pass reads thousands of list items per pass.

extension SFN.ExecutionListItem: JSONReadable {
    static let fields: JSONFields = [
        "executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "mapRunArn", "redriveCount",
        "redriveDate", "stateMachineVersionArn", "stateMachineAliasArn",
    ]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var executionArn: String?
        var stateMachineArn: String?
        var status: String?
        var startDate: Timestamp?
        var name: String?
        var stopDate: Timestamp?
        var mapRunArn: String?
        var redriveCount: Int?
        var redriveDate: Timestamp?
        var versionArn: String?
        var aliasArn: String?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            case 0: executionArn = try reader.readString()
            // The same on every item of a state machine's page: one string for all of them.
            case 1: stateMachineArn = try reader.readString(repeated: 0)
            case 2: name = try reader.readOptionalString()
            case 3: status = try reader.readString()
            case 4: startDate = try reader.readTimestamp()
            case 5: stopDate = try reader.readOptionalTimestamp()
            case 6: mapRunArn = try reader.readOptionalString()
            case 7: redriveCount = try reader.readOptionalInt()
            case 8: redriveDate = try reader.readOptionalTimestamp()
            case 9: versionArn = try reader.readOptionalString()
            case 10: aliasArn = try reader.readOptionalString()
            default: break
            }
        }
        guard let executionArn else { throw reader.missing("executionArn") }
        guard let stateMachineArn else { throw reader.missing("stateMachineArn") }
        guard let status else { throw reader.missing("status") }
        guard let startDate else { throw reader.missing("startDate") }
        self.init(
            executionArn: executionArn,
            stateMachineArn: stateMachineArn,
            name: name,
            status: status,
            startDate: startDate,
            stopDate: stopDate,
            mapRunArn: mapRunArn,
            redriveCount: redriveCount,
            redriveDate: redriveDate,
            stateMachineVersionArn: versionArn,
            stateMachineAliasArn: aliasArn
        )
    }
}

extension SFN.StateMachineListItem: JSONReadable {
    static let fields: JSONFields = ["stateMachineArn", "name", "type", "creationDate"]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var stateMachineArn: String?
        var name: String?
        var type: String?
        var creationDate: Timestamp?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            case 0: stateMachineArn = try reader.readString()
            case 1: name = try reader.readString()
            case 2: type = try reader.readOptionalString()
            case 3: creationDate = try reader.readOptionalTimestamp()
            default: break
            }
        }
        guard let stateMachineArn else { throw reader.missing("stateMachineArn") }
        guard let name else { throw reader.missing("name") }
        self.init(stateMachineArn: stateMachineArn, name: name, type: type, creationDate: creationDate)
    }
}

extension SFN.ListStateMachinesOutput: JSONReadable {
    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        let page = try reader.readPage(items: "stateMachines", token: "nextToken", of: SFN.StateMachineListItem.self)
        self.init(stateMachines: page.items, nextToken: page.token)
    }
}

extension SFN.ListExecutionsOutput: JSONReadable {
    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        let page = try reader.readPage(items: "executions", token: "nextToken", of: SFN.ExecutionListItem.self)
        self.init(executions: page.items, nextToken: page.token)
    }
}
