public import CostGuardCore

/// Step Functions request and response shapes (the fields CostGuard uses; others are ignored when decoding).
public enum SFN {
    public struct StateMachineListItem: Codable, Sendable, Equatable {
        public var stateMachineArn: String
        public var name: String
        public var type: String?
        public var creationDate: Timestamp?
    }

    public struct ListStateMachinesOutput: Codable, Sendable {
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
    }

    public struct ListExecutionsOutput: Codable, Sendable {
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
    }

    public struct GetExecutionHistoryOutput: Codable, Sendable {
        public var events: [HistoryEvent]
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
            id: id, previousID: previousEventId, type: type, timestamp: timestamp,
            resourceType: scheduled?.resourceType ?? output?.resourceType ?? failed?.resourceType,
            resource: scheduled?.resource ?? output?.resource ?? failed?.resource, parameters: scheduled?.parameters,
            output: output?.output, outputTruncated: output?.outputDetails?.truncated,
            mapRunARN: mapRunStartedEventDetails?.mapRunArn)
    }
}
