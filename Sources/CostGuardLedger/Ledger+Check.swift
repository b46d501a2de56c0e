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

    /// Runs SQLite's full integrity check and foreign-key check, and reads the schema version.
    public func check() throws(LedgerError) -> LedgerCheckReport {
        try readSnapshot("checking the ledger") { db in
            let integrity = try db.query("PRAGMA integrity_check(100)").compactMap { $0[0].text }.filter { $0 != "ok" }
            let foreignKeys = try db.query("PRAGMA foreign_key_check").map { row in
                "\(row["table"].text ?? "?") row \(row["rowid"].integer.map(String.init) ?? "?") → "
                    + "missing \(row["parent"].text ?? "?")"
            }
            var counts: [(String, Int)] = []
            for table in Self.countedTables where schemaVersion >= 1 {
                counts.append((table, Int(try db.query("SELECT count(*) FROM \(table)").first?[0].integer ?? 0)))
            }
            let open =
                schemaVersion >= 1
                ? try db.query("SELECT count(*) FROM (\(Self.openIntentsQuery))").first?[0].integer ?? 0
                : 0
            return LedgerCheckReport(
                integrityProblems: integrity,
                foreignKeyProblems: foreignKeys,
                schemaVersion: schemaVersion,
                knownSchemaVersion: Migration.latestVersion,
                openIntents: Int(open),
                counts: counts
            )
        }
    }
}
