/// Applies `Migration.all` to a ledger, each in its own transaction, and refuses databases it must not touch.
///
/// Checks happen before any write, so a database that is refused is left exactly as it was.
package struct MigrationRunner {
    /// The table where applied migrations are recorded. The runner owns it; migrations never touch it.
    static let table = "costguard_migrations"
    /// `PRAGMA application_id` of a CostGuard ledger ("CGRD").
    static let applicationID: Int64 = 0x4347_5244

    let migrations: [Migration]

    package init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    /// A migration recorded in the database.
    package struct Applied: Sendable, Equatable {
        package let version: Int
        package let name: String
        package let checksum: String
    }

    /// Reads what the database says was applied, and throws if this binary must not open it.
    ///
    /// - Returns: the applied migrations, in order.
    /// - Throws: `LedgerError` for another program's database, an edited migration, or a newer schema.
    package func validate(_ db: SQLiteConnection) throws -> [Applied] {
        let path = db.path
        let appID = try db.query("PRAGMA application_id").first?[0].integer ?? 0
        let tableCount =
            try db.query("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .first?[0].integer ?? 0
        if appID != Self.applicationID && (appID != 0 || tableCount > 0) {
            throw LedgerError(
                .notALedger,
                path: path,
                message: "this SQLite database is not a CostGuard ledger (application_id \(appID), "
                    + "\(tableCount) tables)",
                fix: "point --database at a CostGuard ledger, or at a new file name to start one"
            )
        }
        guard tableCount > 0 else { return [] }
        let hasTable =
            try db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", [.text(Self.table)])
            .isEmpty == false
        guard hasTable else {
            throw LedgerError(
                .corrupt,
                path: path,
                message: "the ledger has tables but no record of its migrations (\(Self.table) is missing)",
                fix: "restore the ledger from a 'costguard ledger backup' copy, or move it aside to start afresh"
            )
        }
        let applied = try db.query("SELECT version, name, checksum FROM \(Self.table) ORDER BY version").map {
            Applied(
                version: Int($0["version"].integer ?? -1),
                name: $0["name"].text ?? "?",
                checksum: $0["checksum"].text ?? ""
            )
        }
        let known = migrations.last?.version ?? 0
        if let newest = applied.last, newest.version > known {
            throw LedgerError(
                .newerSchema,
                path: path,
                message: "the ledger is at schema version \(newest.version) (\(newest.name)), written by a newer "
                    + "CostGuard; this binary knows versions up to \(known)",
                fix: "upgrade costguard to the version that wrote this ledger (or newer); never downgrade a ledger"
            )
        }
        for (index, row) in applied.enumerated() {
            guard index < migrations.count, migrations[index].version == row.version else {
                throw LedgerError(
                    .editedMigration,
                    path: path,
                    message: "the ledger records migration \(row.version) (\(row.name)) where this binary expects "
                        + (index < migrations.count ? "\(migrations[index].name)" : "none"),
                    fix: "use the costguard build that created this ledger, or restore it from a backup"
                )
            }
            let expected = migrations[index]
            if expected.checksum != row.checksum {
                throw LedgerError(
                    .editedMigration,
                    path: path,
                    message: "migration \(row.version) (\(row.name)) was applied with checksum "
                        + "\(row.checksum.prefix(12))…, but this binary's \(expected.name) has "
                        + "\(expected.checksum.prefix(12))…: the migration file was edited after it shipped",
                    fix: "restore Migrations/\(expected.name) to its released text and put the change in a new "
                        + "numbered migration; then rebuild costguard"
                )
            }
        }
        return applied
    }

    /// Applies every migration after `applied`, each in one transaction that also records it.
    ///
    /// - Parameters:
    ///   - db: a read-write connection.
    ///   - applied: what `validate` returned.
    ///   - now: the time recorded as `applied_at`.
    /// - Returns: the versions applied now.
    @discardableResult
    package func migrate(_ db: SQLiteConnection, applied: [Applied], now: String) throws -> [Int] {
        var done: [Int] = []
        for migration in migrations.dropFirst(applied.count) {
            // A table rebuild (SQLite's documented way to change a constraint) drops and renames a table other tables
            // reference: foreign keys are off around it (the pragma is a no-op inside a transaction), and the
            // transaction commits only if every reference still resolves.
            let rebuilds = migration.rebuildsTables
            if rebuilds { try db.execute("PRAGMA foreign_keys = OFF") }
            defer { if rebuilds { try? db.execute("PRAGMA foreign_keys = ON") } }
            try db.transaction {
                if applied.isEmpty && done.isEmpty {
                    try db.execute(
                        """
                        PRAGMA application_id = \(Self.applicationID);
                        CREATE TABLE \(Self.table) (
                            version    INTEGER PRIMARY KEY NOT NULL,
                            name       TEXT NOT NULL,
                            checksum   TEXT NOT NULL,
                            applied_at TEXT NOT NULL
                        ) STRICT;
                        """
                    )
                }
                try db.execute(migration.sql)
                if rebuilds, let broken = try db.query("PRAGMA foreign_key_check").first {
                    throw LedgerError(
                        .corrupt,
                        path: db.path,
                        message: "migration \(migration.name) would leave a reference that resolves to nothing "
                            + "(table \(broken[0].text ?? "?"), row \(broken[1].integer ?? -1), to \(broken[2].text ?? "?")); "
                            + "nothing was changed",
                        fix:
                            "run 'costguard ledger check', and restore the ledger from a 'costguard ledger backup' copy"
                    )
                }
                try db.run(
                    "INSERT INTO \(Self.table) (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(migration.checksum), .text(now)]
                )
            }
            done.append(migration.version)
        }
        return done
    }
}
