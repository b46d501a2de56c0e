public import CostGuardCore

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
    /// Replaces what the ledger knows of a cluster's capacity.
    public func recordCapacity(
        clusterID: String,
        collectionType: String?,
        units: [CapacityUnit],
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording the capacity of \(clusterID)") { db in
            try db.run("DELETE FROM cluster_capacity WHERE cluster_id = ?", [.text(clusterID)])
            for unit in units {
                try db.run(
                    """
                    INSERT INTO cluster_capacity (cluster_id, unit_id, kind, role, instance_type, market, running_count,
                        weight, bid_price, observed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET running_count = running_count + excluded.running_count
                    """,
                    [
                        .text(clusterID), .text(unit.unitID), .text(unit.kind), .optional(unit.role),
                        .text(unit.instanceType),
                        .text(unit.market), .integer(Int64(unit.runningCount)), .integer(Int64(unit.weight)),
                        .optional(unit.bidPrice), .text(now.iso8601),
                    ]
                )
            }
            if let collectionType {
                try db.run(
                    "UPDATE clusters SET instance_collection_type = ? WHERE id = ?",
                    [.text(collectionType), .text(clusterID)]
                )
            }
        }
    }

    /// Clusters whose capacity was read, by id.
    public func clustersWithCapacity(among ids: some Collection<String>) throws(LedgerError) -> Set<String> {
        var result: Set<String> = []
        try withList(of: ids, "reading capacities") { db, list, values throws(SQLiteError) in
            try db.forEachRow("SELECT DISTINCT cluster_id FROM cluster_capacity WHERE cluster_id IN (\(list))", values)
            {
                if let id = $0[0].text { result.insert(id) }
            }
        }
        return result
    }

    /// The instance collection types DescribeCluster reported for these clusters.
    public func collectionTypes(of ids: some Collection<String>) throws(LedgerError) -> [String: String] {
        var result: [String: String] = [:]
        try withList(of: ids, "reading collection types") { db, list, values throws(SQLiteError) in
            try db.forEachRow(
                "SELECT id, instance_collection_type FROM clusters WHERE instance_collection_type IS NOT NULL AND id IN (\(list))",
                values
            ) {
                if let id = $0["id"].text, let type = $0["instance_collection_type"].text { result[id] = type }
            }
        }
        return result
    }

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
