public import CostGuardCore

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

extension Ledger {
    /// Every cluster with its execution, state machine, capacity and last journaled action.
    ///
    /// - Parameter dispositions: only clusters with these dispositions (indexed: the daemon's per-pass cost gauge
    ///   reads the unresolved ones without reading every cluster ever seen); nil for all.
    public func reportRecords(dispositions: [String]? = nil) throws(LedgerError) -> [ClusterReportRecord] {
        let only = dispositions.map { list in
            "(" + list.map { "'" + $0.replacingEvery("'", with: "''") + "'" }.joined(separator: ", ") + ")"
        }
        let clusterFilter = only.map { "cluster_id IN (SELECT id FROM clusters WHERE disposition IN \($0))" }
        return try readSnapshot("reading the report") { db in
            var capacity: [String: [CapacityUnit]] = [:]
            try db.forEachRow("SELECT * FROM cluster_capacity" + (clusterFilter.map { " WHERE " + $0 } ?? "")) { row in
                guard let id = row["cluster_id"].text else { return }
                capacity[id, default: []].append(
                    CapacityUnit(
                        unitID: row["unit_id"].text ?? "",
                        kind: row["kind"].text ?? "group",
                        role: row["role"].text,
                        instanceType: row["instance_type"].text ?? "unknown",
                        market: row["market"].text ?? "ON_DEMAND",
                        runningCount: Int(row["running_count"].integer ?? 0),
                        weight: Int(row["weight"].integer ?? 1),
                        bidPrice: row["bid_price"].text
                    )
                )
            }
            var actions: [String: (String, String)] = [:]
            try db.forEachRow(
                """
                SELECT j.cluster_id, j.action, j.result, j.at FROM journal j
                JOIN (SELECT cluster_id, max(seq) AS seq FROM journal WHERE kind = 'outcome'
                      \(clusterFilter.map { "AND " + $0 } ?? "") GROUP BY cluster_id) last
                  ON last.seq = j.seq
                """
            ) { row in
                guard let id = row["cluster_id"].text else { return }
                actions[id] = ("\(row["action"].text ?? ""): \(row["result"].text ?? "")", row["at"].text ?? "")
            }
            var records: [ClusterReportRecord] = []
            try db.forEachRow(
                """
                SELECT c.*, e.status AS execution_status, e.stop_date AS execution_stop, e.state_machine_arn
                FROM clusters c JOIN executions e ON e.arn = c.created_by_execution_arn
                \(only.map { "WHERE c.disposition IN \($0)" } ?? "") ORDER BY c.id
                """
            ) { row in
                let id = row["id"].text ?? ""
                func time(_ column: String) -> String? { row[column].text }
                records.append(
                    ClusterReportRecord(
                        clusterID: id,
                        name: row["name"].text,
                        region: row["region"].text ?? "",
                        account: row["account"].text ?? "",
                        executionARN: row["created_by_execution_arn"].text ?? "",
                        stateMachineARN: row["state_machine_arn"].text ?? "",
                        executionStatus: row["execution_status"].text ?? "",
                        executionEndedAt: time("execution_stop"),
                        clusterState: row["state"].text ?? "UNKNOWN",
                        disposition: row["disposition"].text ?? "unknown",
                        reason: row["disposition_reason"].text,
                        orphanedSince: time("orphaned_since"),
                        dispositionAt: time("disposition_at"),
                        createdAt: time("cluster_created_at"),
                        endedAt: time("cluster_ended_at"),
                        normalizedInstanceHours: row["normalized_instance_hours"].integer.map { Int($0) },
                        lastAction: actions[id]?.0,
                        lastActionAt: actions[id]?.1,
                        capacity: capacity[id] ?? []
                    )
                )
            }
            return records
        }
    }

    /// Journal rows with optional filters, oldest first.
    public func journalRows(
        since: Timestamp? = nil,
        cluster: String? = nil,
        action: String? = nil
    ) throws(LedgerError) -> [JournalRow] {
        try read("reading the journal") { db in
            var sql = "SELECT * FROM journal WHERE 1 = 1"
            var parameters: [SQLValue] = []
            if let since {
                sql += " AND at >= ?"
                parameters.append(.text(since.iso8601))
            }
            if let cluster {
                sql += " AND cluster_id = ?"
                parameters.append(.text(cluster))
            }
            if let action {
                sql += " AND action = ?"
                parameters.append(.text(action))
            }
            return try db.query(sql + " ORDER BY seq", parameters).map(JournalRow.init(row:))
        }
    }
}
