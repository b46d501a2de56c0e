public import CostGuardCore

/// EMR request and response shapes (PascalCase on the wire).
public enum EMR {
    public struct StateChangeReason: Codable, Sendable, Equatable {
        public var code: String?
        public var message: String?
        enum CodingKeys: String, CodingKey {
            case code = "Code"
            case message = "Message"
        }
    }

    public struct Timeline: Codable, Sendable, Equatable {
        public var creationDateTime: Timestamp?
        public var readyDateTime: Timestamp?
        public var endDateTime: Timestamp?
        enum CodingKeys: String, CodingKey {
            case creationDateTime = "CreationDateTime"
            case readyDateTime = "ReadyDateTime"
            case endDateTime = "EndDateTime"
        }
    }

    public struct ClusterStatus: Codable, Sendable, Equatable {
        public var state: String
        public var stateChangeReason: StateChangeReason?
        public var timeline: Timeline?
        enum CodingKeys: String, CodingKey {
            case state = "State"
            case stateChangeReason = "StateChangeReason"
            case timeline = "Timeline"
        }
    }

    public struct ClusterSummary: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var status: ClusterStatus
        public var normalizedInstanceHours: Int?
        public var clusterArn: String?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case status = "Status"
            case normalizedInstanceHours = "NormalizedInstanceHours"
            case clusterArn = "ClusterArn"
        }
    }

    public struct ListClustersOutput: Codable, Sendable, Equatable {
        public var clusters: [ClusterSummary]
        public var marker: String?
        enum CodingKeys: String, CodingKey {
            case clusters = "Clusters"
            case marker = "Marker"
        }
    }

    public struct Tag: Codable, Sendable, Equatable {
        public var key: String
        public var value: String?
        enum CodingKeys: String, CodingKey {
            case key = "Key"
            case value = "Value"
        }
    }

    public struct Cluster: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var status: ClusterStatus
        public var tags: [Tag]?
        public var terminationProtected: Bool?
        public var normalizedInstanceHours: Int?
        public var clusterArn: String?
        public var instanceCollectionType: String?
        /// The cluster ends after its last step (created with `KeepJobFlowAliveWhenNoSteps: false`).
        public var autoTerminate: Bool?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case status = "Status"
            case tags = "Tags"
            case terminationProtected = "TerminationProtected"
            case normalizedInstanceHours = "NormalizedInstanceHours"
            case clusterArn = "ClusterArn"
            case instanceCollectionType = "InstanceCollectionType"
            case autoTerminate = "AutoTerminate"
        }
    }

    public struct AutoTerminationPolicy: Codable, Sendable, Equatable {
        /// Seconds of idleness after which EMR terminates the cluster (60…604800).
        public var idleTimeout: Int?
        enum CodingKeys: String, CodingKey {
            case idleTimeout = "IdleTimeout"
        }
    }

    public struct GetAutoTerminationPolicyOutput: Codable, Sendable {
        /// Absent when the cluster has no auto-termination policy.
        public var autoTerminationPolicy: AutoTerminationPolicy?
        enum CodingKeys: String, CodingKey {
            case autoTerminationPolicy = "AutoTerminationPolicy"
        }
    }

    public struct DescribeClusterOutput: Codable, Sendable {
        public var cluster: Cluster
        enum CodingKeys: String, CodingKey {
            case cluster = "Cluster"
        }
    }

    public struct StepStatus: Codable, Sendable, Equatable {
        public var state: String
        enum CodingKeys: String, CodingKey {
            case state = "State"
        }
    }

    public struct StepSummary: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var status: StepStatus
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case status = "Status"
        }
    }

    public struct ListStepsOutput: Codable, Sendable {
        public var steps: [StepSummary]
        public var marker: String?
        enum CodingKeys: String, CodingKey {
            case steps = "Steps"
            case marker = "Marker"
        }
    }

    public struct CancelStepsInfo: Codable, Sendable, Equatable {
        public var stepId: String?
        public var status: String?
        public var reason: String?
        enum CodingKeys: String, CodingKey {
            case stepId = "StepId"
            case status = "Status"
            case reason = "Reason"
        }
    }

    public struct CancelStepsOutput: Codable, Sendable {
        public var cancelStepsInfoList: [CancelStepsInfo]?
        enum CodingKeys: String, CodingKey {
            case cancelStepsInfoList = "CancelStepsInfoList"
        }
    }

    public struct InstanceGroup: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var market: String?
        public var instanceGroupType: String?
        public var instanceType: String?
        public var requestedInstanceCount: Int?
        public var runningInstanceCount: Int?
        public var bidPrice: String?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case market = "Market"
            case instanceGroupType = "InstanceGroupType"
            case instanceType = "InstanceType"
            case requestedInstanceCount = "RequestedInstanceCount"
            case runningInstanceCount = "RunningInstanceCount"
            case bidPrice = "BidPrice"
        }
    }

    public struct ListInstanceGroupsOutput: Codable, Sendable {
        public var instanceGroups: [InstanceGroup]
        public var marker: String?
        enum CodingKeys: String, CodingKey {
            case instanceGroups = "InstanceGroups"
            case marker = "Marker"
        }
    }

    public struct InstanceTypeSpecification: Codable, Sendable, Equatable {
        public var instanceType: String?
        public var weightedCapacity: Int?
        enum CodingKeys: String, CodingKey {
            case instanceType = "InstanceType"
            case weightedCapacity = "WeightedCapacity"
        }
    }

    public struct InstanceFleet: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var instanceFleetType: String?
        public var targetOnDemandCapacity: Int?
        public var targetSpotCapacity: Int?
        public var provisionedOnDemandCapacity: Int?
        public var provisionedSpotCapacity: Int?
        public var instanceTypeSpecifications: [InstanceTypeSpecification]?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case instanceFleetType = "InstanceFleetType"
            case targetOnDemandCapacity = "TargetOnDemandCapacity"
            case targetSpotCapacity = "TargetSpotCapacity"
            case provisionedOnDemandCapacity = "ProvisionedOnDemandCapacity"
            case provisionedSpotCapacity = "ProvisionedSpotCapacity"
            case instanceTypeSpecifications = "InstanceTypeSpecifications"
        }
    }

    public struct ListInstanceFleetsOutput: Codable, Sendable {
        public var instanceFleets: [InstanceFleet]
        public var marker: String?
        enum CodingKeys: String, CodingKey {
            case instanceFleets = "InstanceFleets"
            case marker = "Marker"
        }
    }

    struct Empty: Codable, Sendable {}
}

// Read by hand (`JSONReader`): a steady pass lists every billing cluster.

extension EMR.StateChangeReason: JSONReadable {
    static let fields: JSONFields = ["Code", "Message"]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var code: String?
        var message: String?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            // Clusters in one state mostly share its reason: one string for all of them.
            case 0: code = try reader.readNull() ? nil : try reader.readString(repeated: 1)
            case 1: message = try reader.readNull() ? nil : try reader.readString(repeated: 2)
            default: break
            }
        }
        self.init(code: code, message: message)
    }
}

extension EMR.Timeline: JSONReadable {
    static let fields: JSONFields = ["CreationDateTime", "ReadyDateTime", "EndDateTime"]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var creation: Timestamp?
        var ready: Timestamp?
        var end: Timestamp?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            case 0: creation = try reader.readOptionalTimestamp()
            case 1: ready = try reader.readOptionalTimestamp()
            case 2: end = try reader.readOptionalTimestamp()
            default: break
            }
        }
        self.init(creationDateTime: creation, readyDateTime: ready, endDateTime: end)
    }
}

extension EMR.ClusterStatus: JSONReadable {
    static let fields: JSONFields = ["State", "StateChangeReason", "Timeline"]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var state: String?
        var reason: EMR.StateChangeReason?
        var timeline: EMR.Timeline?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            case 0: state = try reader.readString()
            case 1: reason = try reader.readOptional(EMR.StateChangeReason.self)
            case 2: timeline = try reader.readOptional(EMR.Timeline.self)
            default: break
            }
        }
        guard let state else { throw reader.missing("State") }
        self.init(state: state, stateChangeReason: reason, timeline: timeline)
    }
}

extension EMR.ClusterSummary: JSONReadable {
    static let fields: JSONFields = ["Id", "Name", "Status", "NormalizedInstanceHours", "ClusterArn"]

    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        var id: String?
        var name: String?
        var status: EMR.ClusterStatus?
        var hours: Int?
        var arn: String?
        try reader.readObject(fields: Self.fields) { (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            switch field {
            case 0: id = try reader.readString()
            case 1: name = try reader.readOptionalString()
            case 2: status = try EMR.ClusterStatus(reading: &reader)
            case 3: hours = try reader.readOptionalInt()
            case 4: arn = try reader.readOptionalString()
            default: break
            }
        }
        guard let id else { throw reader.missing("Id") }
        guard let status else { throw reader.missing("Status") }
        self.init(id: id, name: name, status: status, normalizedInstanceHours: hours, clusterArn: arn)
    }
}

extension EMR.ListClustersOutput: JSONReadable {
    public init(reading reader: inout JSONReader) throws(JSONReadError) {
        let page = try reader.readPage(items: "Clusters", token: "Marker", of: EMR.ClusterSummary.self)
        self.init(clusters: page.items, marker: page.token)
    }
}
