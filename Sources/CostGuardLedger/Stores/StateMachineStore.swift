public import CostGuardCore

extension StateMachineStore {
    /// Every state machine in the ledger, by ARN.
    public func all() throws(LedgerError) -> [String: StateMachineRow] {
        try read("reading state machines") { db in
            try Ledger.readStateMachines(db)
        }
    }

    /// The steps the followed workflows gave these clusters: ids and names, per cluster (indexed by cluster).
    public func workflowSteps(
        of clusters: some Collection<String>
    ) throws(LedgerError) -> [String: (ids: Set<String>, names: Set<String>)] {
        guard !clusters.isEmpty else { return [:] }
        return try read("reading workflow steps") { db in
            var result: [String: (ids: Set<String>, names: Set<String>)] = [:]
            try db.forEachRow(
                "SELECT cluster_id, step_id, step_name FROM cluster_steps WHERE cluster_id IN (\(Ledger.listSQL))",
                [Ledger.listValue(Array(clusters))]
            ) { row in
                guard let cluster = row[0].text else { return }
                var known = result[cluster] ?? ([], [])
                if let id = row[1].text, !id.isEmpty { known.ids.insert(id) }
                if let name = row[2].text, !name.isEmpty { known.names.insert(name) }
                result[cluster] = known
            }
            return result
        }
    }

    /// Records a state machine's type when AWS said it another way than a listing (an EXPRESS machine answers
    /// `StateMachineTypeNotSupported` to ListExecutions).
    public func recordType(arn: String, type: String) throws(LedgerError) {
        try write("recording the type of \(arn)") { db in
            _ = try db.run("UPDATE state_machines SET type = ? WHERE arn = ?", [.text(type), .text(arn)])
        }
    }

    /// Records the state machines a ListStateMachines returned (new ones inserted, known ones touched when their
    /// `last_seen_at` is `stateMachineSeenRefresh` old or older; a known row's name, region, account and type are
    /// never rewritten). A machine this ledger wrote as seen less than `stateMachineSeenRefresh` ago is not even sent
    /// to SQLite again, since SQLite would leave its row alone (unless another connection has committed since).
    public func recordSeen(
        _ listed: [(arn: String, name: String, region: String, account: String, type: String?)],
        at now: Timestamp
    ) throws(LedgerError) {
        let due = try ledger.locked("reading state machines seen") { state in
            let seen = try state.machinesSeen.current(state.connection)
            return listed.filter { machine in
                guard let last = seen[machine.arn] else { return true }
                let age = now.since(last)
                return age < .zero || age >= Ledger.stateMachineSeenRefresh
            }
        }
        guard !due.isEmpty else { return }
        let seen = try writeSeen(due, at: now)
        // Once committed (a rolled-back write is sent again next time): the rows written now, and those SQLite left
        // alone because another process touched them less than the refresh period ago, with that time (without it,
        // a `serve` started minutes after a `reconcile` would send every row again each pass until they aged).
        try ledger.locked("noting state machines seen") { state in try state.machinesSeen.note(seen, state.connection) }
    }

    /// Upserts the rows; returns when each listed row was last touched: now for those inserted or touched, the row's
    /// own `last_seen_at` for those left alone.
    func writeSeen(
        _ machines: [(arn: String, name: String, region: String, account: String, type: String?)],
        at now: Timestamp
    ) throws(LedgerError) -> [String: Timestamp] {
        // One statement for the whole list (a pass lists every state machine of the account).
        let rows =
            "["
            + machines.map { machine in
                "["
                    + [machine.arn, machine.name, machine.region, machine.account].map(jsonString).joined(
                        separator: ","
                    )
                    + "," + (machine.type.map(jsonString) ?? "null") + "]"
            }.joined(separator: ",") + "]"
        return try write("recording state machines") { db in
            try db.run(
                """
                INSERT INTO state_machines (arn, name, region, account, type, first_seen_at, last_seen_at)
                SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                    json_extract(value, '$[3]'), json_extract(value, '$[4]'), ?2, ?2
                FROM json_each(?1) WHERE true
                ON CONFLICT (arn) DO UPDATE SET last_seen_at = excluded.last_seen_at, deleted_at = NULL
                WHERE last_seen_at <= ?3 OR deleted_at IS NOT NULL
                """,
                // A row touched within the refresh period is left as it is (another process, or a `reconcile` run
                // a minute ago, wrote it): no page is written for it.
                [.text(rows), .text(now.iso8601), .text(now.adding(.zero - Ledger.stateMachineSeenRefresh).iso8601)]
            )
            // Each row's time as it now stands, written or left alone, in the same transaction.
            var seen: [String: Timestamp] = [:]
            seen.reserveCapacity(machines.count)
            try db.forEachRow(
                "SELECT arn, last_seen_at FROM state_machines WHERE arn IN (\(Ledger.listSQL))",
                [Ledger.listValue(machines.map(\.arn))]
            ) { row in
                if let arn = row[0].text, let last = row[1].text.flatMap(Timestamp.init(iso8601:)) { seen[arn] = last }
            }
            return seen
        }
    }

    /// Records what a definition says (or why it could not be read).
    public func recordDefinition(
        arn: String,
        revisionID: String?,
        sha256: String,
        type: String?,
        analysis: Result<DefinitionAnalysis, DefinitionAnalysis.Problem>,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording the definition of \(arn)") { db in
            switch analysis {
            case .success(let result):
                try db.run(
                    """
                    UPDATE state_machines SET revision_id = ?, definition_sha256 = ?, definition_read_at = ?,
                        definition_status = 'parsed', definition_problem = NULL, creates_clusters = ?,
                        references_clusters = ?, follows_children = ?, type = coalesce(?, type)
                    WHERE arn = ?
                    """,
                    [
                        .optional(revisionID), .text(sha256), .text(now.iso8601), .bool(result.createsClusters),
                        .bool(result.referencesClusters), .bool(result.startsExecutions || result.hasDistributedMap),
                        .optional(type), .text(arn),
                    ]
                )
            case .failure(let problem):
                try db.run(
                    """
                    UPDATE state_machines SET revision_id = ?, definition_sha256 = ?, definition_read_at = ?,
                        definition_status = 'unparsable', definition_problem = ?, type = coalesce(?, type)
                    WHERE arn = ?
                    """,
                    [
                        .optional(revisionID), .text(sha256), .text(now.iso8601), .text(problem.description),
                        .optional(type), .text(arn),
                    ]
                )
            }
        }
    }

    /// The published versions of a state machine whose definitions were read, with what each can do to EMR.
    public func versions(of machine: String) throws(LedgerError) -> [String: DefinitionAnalysis?] {
        try read("reading state machine versions") { db in
            var result: [String: DefinitionAnalysis?] = [:]
            try db.forEachRow(
                """
                SELECT arn, definition_status, creates_clusters, references_clusters, follows_children
                FROM state_machine_versions WHERE state_machine_arn = ?
                """,
                [.text(machine)]
            ) { row in
                guard let arn = row[0].text else { return }
                guard row[1].text == DefinitionStatus.parsed.rawValue else {
                    result[arn] = .some(nil)
                    return
                }
                var analysis = DefinitionAnalysis()
                analysis.createsClusters = row[2].integer == 1
                analysis.referencesClusters = row[3].integer == 1
                analysis.startsExecutions = row[4].integer == 1
                result[arn] = analysis
            }
            return result
        }
    }

    /// Records what a version's definition (read once: versions never change) can do to EMR.
    public func recordVersion(
        arn: String,
        stateMachine: String,
        analysis: Result<DefinitionAnalysis, DefinitionAnalysis.Problem>,
        at now: Timestamp
    ) throws(LedgerError) {
        let parsed = try? analysis.get()
        let problem: String? = if case .failure(let failure) = analysis { failure.description } else { nil }
        try write("recording version \(arn)") { db in
            _ = try db.run(
                """
                INSERT INTO state_machine_versions (arn, state_machine_arn, definition_status, definition_problem,
                    creates_clusters, references_clusters, follows_children, read_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING
                """,
                [
                    .text(arn), .text(stateMachine),
                    .text((parsed == nil ? DefinitionStatus.unparsable : .parsed).rawValue), .optional(problem),
                    .bool(parsed?.createsClusters ?? false), .bool(parsed?.referencesClusters ?? false),
                    .bool((parsed?.startsExecutions ?? false) || (parsed?.hasDistributedMap ?? false)),
                    .text(now.iso8601),
                ]
            )
        }
    }
}
