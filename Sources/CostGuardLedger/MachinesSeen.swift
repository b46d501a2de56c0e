import CostGuardCore

/// When this connection last wrote each state machine's row as seen, so that a pass does not send SQLite the rows it
/// would leave alone (see `Ledger.recordStateMachinesSeen`).
///
/// Kept across this connection's own changes, dropped when another connection commits (SQLite's `data_version`
/// moves), since that one may have changed or removed the rows. Used only under the ledger's lock.
final class MachinesSeen {
    private var seen: [String: Timestamp] = [:]
    private var dataVersion: Int64?

    /// What is known, after dropping it if another connection committed since it was noted.
    func current(_ db: SQLiteConnection) throws -> [String: Timestamp] {
        let version = try db.dataVersion()
        if version != dataVersion {
            seen = [:]
            dataVersion = version
        }
        return seen
    }

    /// Notes rows written (or found touched by another process) at these times.
    func note(_ rows: [String: Timestamp], _ db: SQLiteConnection) throws {
        _ = try current(db)
        seen.merge(rows) { _, new in new }
    }

    /// What is known, for tests.
    var all: [String: Timestamp] { seen }
}
