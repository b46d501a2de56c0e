public import CostGuardCore

/// A billing cluster that no followed workflow created (made by hand, by another tool, or by an execution older than
/// the 90 days Step Functions keeps histories): reported, never acted on.
public struct UntrackedCluster: Sendable, Equatable {
    public var id: String
    public var region: String
    public var account: String
    public var name: String?
    public var state: String
    public var createdAt: Timestamp?
    public var normalizedInstanceHours: Int?
    /// When CostGuard first listed it (set by the ledger).
    public var firstSeenAt: Timestamp?

    public init(
        id: String,
        region: String,
        account: String,
        name: String?,
        state: String,
        createdAt: Timestamp?,
        normalizedInstanceHours: Int?,
        firstSeenAt: Timestamp? = nil
    ) {
        self.id = id
        self.region = region
        self.account = account
        self.name = name
        self.state = state
        self.createdAt = createdAt
        self.normalizedInstanceHours = normalizedInstanceHours
        self.firstSeenAt = firstSeenAt
    }
}
