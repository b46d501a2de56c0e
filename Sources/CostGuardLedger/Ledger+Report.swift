import CostGuardCore

/// Everything the report shows of one cluster, read from the ledger alone.
public struct ClusterReportRecord: Sendable, Equatable {
    public var clusterID: String
    public var name: String?
    public var region: String
    public var account: String
    public var executionARN: String
    public var stateMachineARN: String
    public var executionStatus: String
    /// Times are kept as the ledger stores them (ISO-8601 text); the report parses only those it computes with.
    public var executionEndedAt: String?
    public var clusterState: String
    public var disposition: String
    public var reason: String?
    public var orphanedSince: String?
    public var dispositionAt: String?
    public var createdAt: String?
    public var endedAt: String?
    public var normalizedInstanceHours: Int?
    /// The last mutating call journaled for the cluster (`terminate: succeeded`), and when.
    public var lastAction: String?
    public var lastActionAt: String?
    public var capacity: [CapacityUnit]
}
