public import CostGuardCore

extension ClusterStore {
    /// Clusters whose last known state may still bill (or is not known), for observation.
    public func tracked() throws(LedgerError) -> [TrackedCluster] {
        try read("reading tracked clusters") { db in
            var result: [TrackedCluster] = []
            try db.forEachRow(
                """
                SELECT id, region, account, state, name, normalized_instance_hours, cluster_created_at,
                    created_by_execution_arn
                FROM clusters WHERE state IN \(Ledger.billingOrUnknownStates)
                ORDER BY id
                """
            ) { row in
                result.append(
                    TrackedCluster(
                        id: row[0].text ?? "",
                        region: row[1].text ?? "",
                        account: row[2].text ?? "",
                        state: ClusterState(rawValue: row[3].text ?? "") ?? .unknown,
                        name: row[4].text,
                        normalizedInstanceHours: row[5].integer.map { Int($0) },
                        createdAt: row[6].text,
                        creatorAccount: row[7].text.map(ExecutionARN.account(of:))
                    )
                )
            }
            return result
        }
    }

    /// Records cluster observations (only for clusters the ledger tracks).
    public func recordObservations(_ observations: [ClusterObservation], at now: Timestamp) throws(LedgerError) {
        guard !observations.isEmpty else { return }
        try write("recording cluster states") { db in
            for o in observations {
                try db.run(
                    """
                    UPDATE clusters SET state = ?, state_change_reason = coalesce(?, state_change_reason),
                        state_source = ?, state_observed_at = ?, name = coalesce(?, name), arn = coalesce(?, arn),
                        termination_protected = coalesce(?, termination_protected), tags_json = coalesce(?, tags_json),
                        normalized_instance_hours = coalesce(?, normalized_instance_hours),
                        cluster_created_at = coalesce(?, cluster_created_at), cluster_ready_at = coalesce(?, cluster_ready_at),
                        cluster_ended_at = coalesce(?, cluster_ended_at), last_seen_at = ?,
                        instance_collection_type = coalesce(?, instance_collection_type),
                        auto_terminate = coalesce(?, auto_terminate)
                    WHERE id = ?
                    """,
                    [
                        .text(o.state.rawValue), .optional(o.stateChangeReason), .text(o.source), .text(now.iso8601),
                        .optional(o.name), .optional(o.arn), .optional(o.terminationProtected),
                        .optional(o.tags.map(jsonStringMap)), .optional(o.normalizedInstanceHours),
                        .optional(o.createdAt?.iso8601), .optional(o.readyAt?.iso8601), .optional(o.endedAt?.iso8601),
                        .text(now.iso8601), .optional(o.instanceCollectionType), .optional(o.autoTerminate),
                        .text(o.id),
                    ]
                )
                if o.state.hasEnded {
                    // Ended by the workflow, a person or EMR (CostGuard's own terminations keep 'terminated').
                    try db.run(
                        """
                        UPDATE clusters SET disposition = 'ended', disposition_at = ?,
                            disposition_reason = 'the cluster is ' || ? || coalesce(' (' || ? || ')', '')
                        WHERE id = ? AND disposition <> 'terminated'
                        """,
                        [.text(now.iso8601), .text(o.state.rawValue), .optional(o.stateChangeReason), .text(o.id)]
                    )
                }
            }
        }
    }

    /// The instance groups and fleets named by RUNNING executions whose task did not name the cluster, by the
    /// executions' account and region.
    public func runningUnitReferences() throws(LedgerError) -> [Scope: [UnitReference]] {
        try read("reading instance group references") { db in
            var result: [Scope: [UnitReference]] = [:]
            try db.forEachRow(
                """
                SELECT r.unit_id, r.execution_arn, r.resource, m.account, m.region
                FROM instance_group_references r JOIN executions e ON e.arn = r.execution_arn
                    JOIN state_machines m ON m.arn = e.state_machine_arn
                WHERE e.status = 'RUNNING' ORDER BY r.id
                """
            ) { row in
                guard let unit = row[0].text, let execution = row[1].text else { return }
                let scope = Scope(account: row[3].text ?? "", region: row[4].text ?? "")
                result[scope, default: []].append(
                    UnitReference(unitID: unit, executionARN: execution, resource: row[2].text ?? "")
                )
            }
            return result
        }
    }

    /// Records a cluster's auto-termination policy as GetAutoTerminationPolicy answered (`nil`: it has none).
    public func recordAutoTerminationPolicy(
        of clusterID: String,
        idleTimeoutSeconds: Int?,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording an auto-termination policy") { db in
            try db.run(
                "UPDATE clusters SET idle_timeout_seconds = ?, auto_termination_read_at = ? WHERE id = ?",
                [.optional(idleTimeoutSeconds), .text(now.iso8601), .text(clusterID)]
            )
        }
    }

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
    public func withCapacity(among ids: some Collection<String>) throws(LedgerError) -> Set<String> {
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

    /// Which of `ids` the ledger tracks as clusters created by a followed workflow (in any state).
    public func trackedIDs(among ids: [String]) throws(LedgerError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try read("reading tracked cluster ids") { db in
            var known: Set<String> = []
            try db.forEachRow("SELECT id FROM clusters WHERE id IN (\(Ledger.listSQL))", [Ledger.listValue(ids)]) {
                row in
                if let id = row[0].text { known.insert(id) }
            }
            return known
        }
    }

    /// Replaces a region's untracked clusters with those a complete listing showed (each keeps the time it was
    /// first seen). Writes nothing when the set and their states are as recorded.
    public func recordUntracked(
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
                "DELETE FROM untracked_clusters WHERE region = ? AND id NOT IN (\(Ledger.listSQL))",
                [.text(region), Ledger.listValue(listed.map(\.id))]
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
    public func untracked() throws(LedgerError) -> [UntrackedCluster] {
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
}
