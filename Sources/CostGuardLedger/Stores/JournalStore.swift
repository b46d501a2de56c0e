public import CostGuardCore

extension JournalStore {
    /// Records the start of a pass, and marks as interrupted any pass a crash left running. First checks the whole
    /// file when a check is due (a `serve` running for days; see `QuickCheckSchedule`), throwing `.corrupt` when it
    /// finds damage.
    public func startPass(trigger: String, dryRun: Bool, at now: Timestamp) throws(LedgerError) -> PassID {
        precondition(!ledger.isReadOnly, "write on a read-only ledger")
        return try ledger.locked("starting a pass") { state in
            let db = state.connection
            return try db.transaction { () throws -> PassID in
                if var checks = state.quickChecks {
                    if let checked = try checks.checkIfDue(db, now: now) {
                        try Ledger.recordQuickCheck(
                            db,
                            checked.record,
                            reason: checked.reason,
                            seconds: checked.seconds
                        )
                    }
                    state.quickChecks = checks
                }
                try db.run(
                    "UPDATE passes SET outcome = 'interrupted', ended_at = ?, summary = 'interrupted: the process "
                        + "stopped before the pass finished' WHERE outcome = 'running'",
                    [.text(now.iso8601)]
                )
                try db.run(
                    "INSERT INTO passes (started_at, trigger, dry_run) VALUES (?, ?, ?)",
                    [.text(now.iso8601), .text(trigger), .bool(dryRun)]
                )
                return PassID(rawValue: db.lastInsertRowID)
            }
        }
    }

    /// Records how a pass ended, with its counts and the AWS calls it made.
    public func finishPass(
        _ pass: PassID,
        outcome: PassOutcome,
        at now: Timestamp,
        counts: [String: Int],
        apiCalls: [String: Int],
        summary: String,
        cpuSeconds: Double? = nil,
        rssBytes: Int? = nil
    ) throws(LedgerError) {
        try write("finishing pass \(pass)") { db in
            _ = try db.run(
                """
                UPDATE passes SET ended_at = ?, outcome = ?, counts_json = ?, api_calls_json = ?, api_calls = ?,
                summary = ?, cpu_seconds = ?, rss_bytes = ? WHERE id = ?
                """,
                [
                    .text(now.iso8601), .text(outcome.rawValue), .text(jsonObject(counts)),
                    .text(jsonObject(apiCalls)), .integer(Int64(apiCalls.values.reduce(0, +))), .text(summary),
                    cpuSeconds.map { .real($0) } ?? .null, rssBytes.map { .integer(Int64($0)) } ?? .null,
                    .integer(pass.rawValue),
                ]
            )
        }
    }

    /// Journals the intent to make a mutating AWS call. Committed (and fsynced) before it returns: make the call
    /// only after this succeeds.
    ///
    /// - Returns: the intent's sequence number, for `journalOutcome`.
    public func intent(_ record: JournalRecord, pass: PassID?, at now: Timestamp) throws(LedgerError) -> Int64 {
        try write("journaling the intent to \(record.action.rawValue) \(record.clusterID ?? "")") { db in
            try insert(db, kind: .intent, record: record, pass: pass, at: now)
            return db.lastInsertRowID
        }
    }

    /// Journals the outcome of the call announced by intent `intentSeq`.
    public func outcome(
        intentSeq: Int64,
        record: JournalRecord,
        result: CallResult,
        requestID: String?,
        errorCode: String?,
        errorMessage: String?,
        pass: PassID?,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("journaling the outcome of intent \(intentSeq)") { db in
            try insert(
                db,
                kind: .outcome,
                record: record,
                pass: pass,
                at: now,
                intentSeq: intentSeq,
                result: result,
                requestID: requestID,
                errorCode: errorCode,
                errorMessage: errorMessage
            )
        }
    }

    /// Journals a decision that made no mutating call (dry-run would-terminate, deferred, protected, …).
    public func decision(_ record: JournalRecord, pass: PassID?, at now: Timestamp) throws(LedgerError) {
        try write("journaling a decision") { db in
            try insert(db, kind: .decision, record: record, pass: pass, at: now)
        }
    }

    /// Intents with no outcome yet (a crash came between the intent and the outcome), oldest first.
    public func openIntents() throws(LedgerError) -> [JournalRow] {
        // A ledger whose creation was interrupted before its first migration has no journal, hence no intent.
        guard schemaVersion >= 1 else { return [] }
        return try read("reading open intents") { db in
            try db.query(Ledger.openIntentsQuery).map(JournalRow.init(row:))
        }
    }

    /// The terminations AWS answered with an error, for the clusters that had one at or after `since`: per
    /// cluster, its latest `terminate` outcomes that failed in a row, newest first (at most 16), up to the last
    /// outcome that did not fail. Indexed (`journal_by_time`, then `journal_by_cluster`): a pass reads only the
    /// recent failures, however long the journal.
    public func terminateFailures(since: Timestamp) throws(LedgerError) -> [String: [JournalRow]] {
        try read("reading refused terminations") { db in
            var clusters: [String] = []
            try db.forEachRow(
                """
                SELECT DISTINCT cluster_id FROM journal
                WHERE at >= ? AND kind = 'outcome' AND action = 'terminate' AND result = 'failed'
                  AND cluster_id IS NOT NULL
                """,
                [.text(since.iso8601)]
            ) { row in
                if let id = row[0].text { clusters.append(id) }
            }
            var result: [String: [JournalRow]] = [:]
            for cluster in clusters {
                let rows = try db.query(
                    """
                    SELECT * FROM journal WHERE cluster_id = ? AND kind = 'outcome' AND action = 'terminate'
                    ORDER BY seq DESC LIMIT 16
                    """,
                    [.text(cluster)]
                ).map(JournalRow.init(row:))
                let failures = Array(rows.prefix { $0.result == .failed })
                if !failures.isEmpty { result[cluster] = failures }
            }
            return result
        }
    }

    /// Journal rows, oldest first, optionally after a sequence number.
    public func rows(after seq: Int64 = 0, limit: Int = 1000) throws(LedgerError) -> [JournalRow] {
        try read("reading the journal") { db in
            try db.query(
                "SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
                [
                    .integer(seq), .integer(Int64(limit)),
                ]
            ).map(JournalRow.init(row:))
        }
    }

    func insert(
        _ db: SQLiteConnection,
        kind: JournalKind,
        record: JournalRecord,
        pass: PassID?,
        at now: Timestamp,
        intentSeq: Int64? = nil,
        result: CallResult? = nil,
        requestID: String? = nil,
        errorCode: String? = nil,
        errorMessage: String? = nil
    ) throws {
        try db.run(
            """
            INSERT INTO journal (at, pass_id, kind, intent_seq, action, cluster_id, execution_arn, region, account,
                                 dry_run, result, request_id, error_code, error_message, reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(now.iso8601), pass.map { .integer($0.rawValue) } ?? .null, .text(kind.rawValue),
                intentSeq.map(SQLValue.integer) ?? .null, .text(record.action.rawValue), .optional(record.clusterID),
                .optional(record.executionARN), .optional(record.region), .optional(record.account),
                .bool(record.dryRun), .optional(result?.rawValue), .optional(requestID), .optional(errorCode),
                .optional(errorMessage), .text(record.reason),
            ]
        )
    }

    /// Journal rows with optional filters, oldest first.
    public func reportRows(
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
