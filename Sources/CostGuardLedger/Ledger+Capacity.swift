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
        unitID: String, kind: String, role: String?, instanceType: String, market: String, runningCount: Int,
        weight: Int = 1, bidPrice: String? = nil
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
        clusterID: String, collectionType: String?, units: [CapacityUnit], at now: Timestamp
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
                    [.text(clusterID), .text(unit.unitID), .text(unit.kind), .optional(unit.role), .text(unit.instanceType),
                     .text(unit.market), .integer(Int64(unit.runningCount)), .integer(Int64(unit.weight)),
                     .optional(unit.bidPrice), .text(now.iso8601)])
            }
            if let collectionType {
                try db.run("UPDATE clusters SET instance_collection_type = ? WHERE id = ?", [.text(collectionType), .text(clusterID)])
            }
        }
    }

    /// Clusters whose capacity was read, by id.
    public func clustersWithCapacity() throws(LedgerError) -> Set<String> {
        try read("reading capacity") { db in
            Set(try db.query("SELECT DISTINCT cluster_id FROM cluster_capacity").compactMap { $0[0].text })
        }
    }

    /// A cluster's instance collection type, if a DescribeCluster said.
    public func collectionTypes() throws(LedgerError) -> [String: String] {
        try read("reading collection types") { db in
            var result: [String: String] = [:]
            try db.forEachRow("SELECT id, instance_collection_type FROM clusters WHERE instance_collection_type IS NOT NULL") {
                if let id = $0["id"].text, let type = $0["instance_collection_type"].text { result[id] = type }
            }
            return result
        }
    }
}
