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

extension Ledger {
    /// Which of `ids` the ledger tracks as clusters created by a followed workflow (in any state).
    public func trackedClusterIDs(among ids: [String]) throws(LedgerError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try read("reading tracked cluster ids") { db in
            var known: Set<String> = []
            try db.forEachRow("SELECT id FROM clusters WHERE id IN (\(Self.listSQL))", [Self.listValue(ids)]) { row in
                if let id = row[0].text { known.insert(id) }
            }
            return known
        }
    }

    /// Replaces a region's untracked clusters with those a complete listing showed (each keeps the time it was
    /// first seen). Writes nothing when the set and their states are as recorded.
    public func recordUntrackedClusters(
        _ listed: [UntrackedCluster],
        region: String,
        at now: Timestamp
    ) throws(LedgerError) {
        let recorded = try read("reading untracked clusters") { db in
            var rows: [String: (String, String?, Int?)] = [:]
            try db.forEachRow(
                "SELECT id, state, name, normalized_instance_hours FROM untracked_clusters WHERE region = ?",
                [.text(region)]
            ) { row in
                if let id = row[0].text { rows[id] = (row[1].text ?? "", row[2].text, row[3].integer.map { Int($0) }) }
            }
            return rows
        }
        let unchanged =
            recorded.count == listed.count
            && listed.allSatisfy { cluster in
                recorded[cluster.id].map {
                    $0.0 == cluster.state && $0.1 == cluster.name && $0.2 == cluster.normalizedInstanceHours
                }
                    ?? false
            }
        guard !unchanged else { return }
        try write("recording untracked clusters") { db in
            try db.run(
                "DELETE FROM untracked_clusters WHERE region = ? AND id NOT IN (\(Self.listSQL))",
                [.text(region), Self.listValue(listed.map(\.id))]
            )
            for cluster in listed {
                try db.run(
                    """
                    INSERT INTO untracked_clusters (id, region, account, name, state, cluster_created_at,
                        normalized_instance_hours, first_seen_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET state = excluded.state, name = excluded.name,
                        normalized_instance_hours = excluded.normalized_instance_hours
                    """,
                    [
                        .text(cluster.id), .text(region), .text(cluster.account), .optional(cluster.name),
                        .text(cluster.state), .optional(cluster.createdAt?.iso8601),
                        cluster.normalizedInstanceHours.map { .integer(Int64($0)) } ?? .null, .text(now.iso8601),
                    ]
                )
            }
        }
    }

    /// Every untracked cluster the last listings showed, by id.
    public func untrackedClusters() throws(LedgerError) -> [UntrackedCluster] {
        guard schemaVersion >= 8 else { return [] }
        return try readSnapshot("reading untracked clusters") { db in
            var result: [UntrackedCluster] = []
            try db.forEachRow("SELECT * FROM untracked_clusters ORDER BY id") { row in
                result.append(
                    UntrackedCluster(
                        id: row["id"].text ?? "",
                        region: row["region"].text ?? "",
                        account: row["account"].text ?? "",
                        name: row["name"].text,
                        state: row["state"].text ?? "",
                        createdAt: row["cluster_created_at"].text.flatMap(Timestamp.init(iso8601:)),
                        normalizedInstanceHours: row["normalized_instance_hours"].integer.map { Int($0) },
                        firstSeenAt: row["first_seen_at"].text.flatMap(Timestamp.init(iso8601:))
                    )
                )
            }
            return result
        }
    }
}
