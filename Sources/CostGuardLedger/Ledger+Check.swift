/// What `costguard ledger check` found.
public struct LedgerCheckReport: Sendable {
    /// Problems from `PRAGMA integrity_check` (empty when it answered `ok`).
    public var integrityProblems: [String]
    /// Rows that break a foreign key: `table rowid → parent`.
    public var foreignKeyProblems: [String]
    /// The schema version in the file, and the newest this binary knows.
    public var schemaVersion: Int
    public var knownSchemaVersion: Int
    /// Journal intents with no outcome yet: the next pass re-checks each before doing anything else.
    public var openIntents: Int
    /// Row counts of the main tables.
    public var counts: [(table: String, rows: Int)]

    /// `true` when nothing is wrong.
    public var isHealthy: Bool {
        integrityProblems.isEmpty && foreignKeyProblems.isEmpty && schemaVersion == knownSchemaVersion
    }
}

extension Ledger {
    /// The tables `check` counts, in display order.
    static let countedTables = [
        "state_machines", "executions", "clusters", "cluster_references", "passes", "journal",
    ]

}
