public import CostGuardCore

extension DecisionStore {
    /// Every cluster's current disposition, by id (a full read: for tests and tools, not for a pass).
    public func dispositions() throws(LedgerError) -> [String: String] {
        try read("reading dispositions") { db in
            var result: [String: String] = [:]
            try db.forEachRow("SELECT id, disposition FROM clusters") { row in
                if let id = row["id"].text { result[id] = row["disposition"].text }
            }
            return result
        }
    }

    /// These clusters' current dispositions, by id.
    public func dispositions(of ids: some Collection<String>) throws(LedgerError) -> [String: String] {
        var result: [String: String] = [:]
        try withList(of: ids, "reading dispositions") { db, list, values throws(SQLiteError) in
            try db.forEachRow("SELECT id, disposition FROM clusters WHERE id IN (\(list))", values) { row in
                if let id = row["id"].text { result[id] = row["disposition"].text }
            }
        }
        return result
    }

    /// Records that TerminateJobFlows succeeded for these clusters: the outcome of each one's intent and the
    /// clusters' new state, in one transaction, so that the ledger never shows a termination journaled while its
    /// cluster still looks billing, or the reverse.
    ///
    /// - Parameters:
    ///   - outcomes: the intent each cluster's call answered, with the intent's record.
    ///   - message: kept with each outcome (e.g. how it was completed after a restart).
    ///   - reasonPrefix: put before each intent's reason in its cluster's disposition reason.
    ///   - notices: told to people (the outbox, one row per channel), in the same transaction.
    public func recordTermination(
        outcomes: [(intentSeq: Int64, record: JournalRecord)],
        requestID: String?,
        message: String? = nil,
        reasonPrefix: String,
        notices: [Notice] = [],
        channels: [NoticeChannel] = [],
        pass: PassID?,
        at now: Timestamp
    ) throws(LedgerError) {
        guard !outcomes.isEmpty else { return }
        try write("journaling and recording \(outcomes.count) termination(s)") { db in
            try Ledger.insertNotices(db, notices, channels: channels, pass: pass, at: now)
            for outcome in outcomes {
                try ledger.journal.insert(
                    db,
                    kind: .outcome,
                    record: outcome.record,
                    pass: pass,
                    at: now,
                    intentSeq: outcome.intentSeq,
                    result: .succeeded,
                    requestID: requestID,
                    errorCode: nil,
                    errorMessage: message
                )
            }
            try Ledger.markTerminated(
                db,
                outcomes.compactMap { outcome in
                    outcome.record.clusterID.map { ($0, reasonPrefix + outcome.record.reason) }
                },
                at: now
            )
        }
    }

    /// Records the policy's decisions: disposition, reason and orphaned-since. Only the clusters whose row the
    /// decision changes are written (a pass decides every billing cluster again; most decisions repeat the last).
    ///
    /// - Parameters:
    ///   - journal: for the decisions the journal records (`would-terminate`, `deferred`, `protected`), their
    ///     record by cluster id: a decision row is appended, in the same transaction as the cluster's new
    ///     disposition, when the disposition changes.
    ///   - notices: notices to people by cluster id, appended to the outbox (one row per channel) in the same
    ///     transaction when the cluster's disposition changes (a notice already there is not repeated).
    ///   - pass: the pass the journal rows belong to.
    public func record(
        _ decisions: [Decision],
        journal: [String: JournalRecord] = [:],
        notices: [String: Notice] = [:],
        channels: [NoticeChannel] = [],
        pass: PassID? = nil,
        at now: Timestamp
    ) throws(LedgerError) {
        guard !decisions.isEmpty else { return }
        // Which decisions change their cluster's row, found without a write transaction: a steady pass changes none.
        let changed = try read("reading dispositions") { db in try Ledger.changing(decisions, db).map(\.decision) }
        guard !changed.isEmpty else { return }
        try write("recording dispositions") { db in
            // Found again inside the transaction, before its first UPDATE (another process may have written since).
            let changing = try Ledger.changing(changed, db)
            // The disposition each row had (read once, with the comparison): a decision row and a notice go with a
            // new disposition, not with a new reason.
            for (d, before) in changing where before != d.disposition.rawValue {
                if let record = journal[d.clusterID] {
                    try ledger.journal.insert(db, kind: .decision, record: record, pass: pass, at: now)
                }
                if let notice = notices[d.clusterID] {
                    try Ledger.insertNotices(db, [notice], channels: channels, pass: pass, at: now)
                }
            }
            for (d, _) in changing {
                try db.run(
                    """
                    UPDATE clusters SET disposition = ?, disposition_reason = ?, disposition_at = ?,
                        orphaned_since = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(orphaned_since, ?) END
                    WHERE id = ? AND NOT (disposition = 'terminated' AND ? = 'ended')
                      AND (disposition IS NOT ? OR disposition_reason IS NOT ? OR orphaned_since IS NOT ?)
                    """,
                    [
                        .text(d.disposition.rawValue), .text(d.reason), .text(now.iso8601),
                        .optional(d.orphanedSince?.iso8601), .optional(d.orphanedSince?.iso8601), .text(d.clusterID),
                        .text(d.disposition.rawValue), .text(d.disposition.rawValue), .text(d.reason),
                        .optional(d.orphanedSince?.iso8601),
                    ]
                )
            }
        }
    }

    /// The facts the policy needs about every tracked cluster that may still bill.
    ///
    /// - Parameter passStart: observations at or after this time count as "this pass".
    ///   - observed: clusters observed this pass whose unchanged observation was not rewritten.
    public func policyFacts(passStart: Timestamp, observed: Set<String> = []) throws(LedgerError) -> [ClusterFacts] {
        try readSnapshot("reading policy facts") { db in
            let read = try Ledger.readPolicyFacts(db)
            return read.indices.map { index in
                var facts = read[index].facts
                facts.observedThisPass =
                    observed.contains(facts.id) || (read[index].observedAt.map { $0 >= passStart } ?? false)
                return facts
            }
        }
    }
}
