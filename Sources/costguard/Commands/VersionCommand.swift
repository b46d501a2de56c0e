import ArgumentParser
import CostGuardCore
import CostGuardLedger

/// `costguard version`: what this binary is.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the CostGuard version, the ledger schema version it writes, and the SQLite library in use."
    )

    func run() {
        print("costguard \(CostGuardVersion.current)")
        print("ledger schema version \(LedgerInfo.latestSchemaVersion)")
        print("sqlite \(LedgerInfo.sqliteVersion)")
    }
}
