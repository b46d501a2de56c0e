/// Facts about the ledger code built into this binary.
public enum LedgerInfo {
    /// The newest schema version this binary writes.
    public static var latestSchemaVersion: Int { Migration.latestVersion }
    /// The SQLite library version in use.
    public static var sqliteVersion: String { SQLiteConnection.libraryVersion }
}
