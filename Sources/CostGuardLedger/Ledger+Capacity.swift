import CostGuardCore

/// One instance group, or one instance type of a fleet, running in a cluster.
public struct CapacityUnit: Sendable, Equatable, Codable {
    public var unitID: String
    /// `group` or `fleet`.
    public var kind: String
    public var role: String?
    public var instanceType: String
    /// `ON_DEMAND` or `SPOT`.
    public var market: String
    /// Instances running (groups), or capacity units provisioned (fleets; divide by `weight` for instances).
    public var runningCount: Int
    public var weight: Int
    public var bidPrice: String?

    public init(
        unitID: String,
        kind: String,
        role: String?,
        instanceType: String,
        market: String,
        runningCount: Int,
        weight: Int = 1,
        bidPrice: String? = nil
    ) {
        self.unitID = unitID
        self.kind = kind
        self.role = role
        self.instanceType = instanceType
        self.market = market
        self.runningCount = runningCount
        self.weight = weight
        self.bidPrice = bidPrice
    }

    /// Instances of `instanceType` running.
    public var instances: Double { Double(runningCount) / Double(max(weight, 1)) }
}

extension Ledger {
    /// Runs `body` once with an SQL list that holds every one of `ids` (`SELECT value FROM json_each(?)`, for
    /// `… IN (list)`) and the value to bind: one statement text whatever the number of ids, so its prepared
    /// statement is reused (a `?` per id made a new text, and a new statement to prepare, for every count).
    /// Nothing runs for no ids.
    func withList(
        of ids: some Collection<String>,
        _ action: String,
        _ body: (SQLiteConnection, String, [SQLValue]) throws(SQLiteError) -> Void
    ) throws(LedgerError) {
        guard !ids.isEmpty else { return }
        try read(action) { db in try body(db, Self.listSQL, [Self.listValue(ids)]) }
    }

    /// The SQL list of `withList`: the elements of a JSON array bound as its one parameter.
    static let listSQL = "SELECT value FROM json_each(?)"

    /// `ids` as the JSON array `listSQL` reads.
    static func listValue(_ ids: some Collection<String>) -> SQLValue {
        .text("[" + ids.map(jsonString).joined(separator: ",") + "]")
    }
}
