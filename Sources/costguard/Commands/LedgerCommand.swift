import ArgumentParser
import CostGuardCore
import CostGuardLedger

/// `costguard ledger`: maintenance of the ledger file.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Check or back up the ledger.",
        subcommands: [Check.self, Backup.self]
    )

    /// `costguard ledger check`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the ledger's integrity, foreign keys and schema version (read-only; safe while serve runs).",
            discussion: """
                Exits 0 when the ledger is healthy, 65 when the check found a problem, 74 when the file cannot be \
                opened.

                Example:
                  costguard ledger check --database /var/lib/costguard/ledger.sqlite
                """
        )

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let path = database.resolvedPath()
            let report: LedgerCheckReport
            let lastQuickCheck: (checkedAt: Timestamp, reason: String, seconds: Double)?
            do {
                let ledger = try Ledger.openReadOnly(path: path)
                report = try ledger.maintenance.check()
                lastQuickCheck = try ledger.maintenance.lastQuickCheck()
            } catch {
                printError("costguard: \(error)")
                throw ExitCode(ExitStatus.ledgerUnavailable.rawValue)
            }
            print("ledger: \(path)")
            print("schema version: \(report.schemaVersion) (this binary: \(report.knownSchemaVersion))")
            print(
                "integrity: \(report.integrityProblems.isEmpty ? "ok" : "\(report.integrityProblems.count) problem(s)")"
            )
            for problem in report.integrityProblems { print("  \(problem)") }
            print(
                "foreign keys: \(report.foreignKeyProblems.isEmpty ? "ok" : "\(report.foreignKeyProblems.count) problem(s)")"
            )
            for problem in report.foreignKeyProblems { print("  \(problem)") }
            for (table, rows) in report.counts { print("\(table): \(rows) rows") }
            if let last = lastQuickCheck {
                print(
                    "last quick_check before writing: \(last.checkedAt.iso8601), "
                        + "\(DecimalText.twoDecimals(last.seconds)) s (\(last.reason))"
                )
            } else {
                print("last quick_check before writing: none recorded (the next reconcile or serve makes one)")
            }
            if report.openIntents > 0 {
                print("open intents: \(report.openIntents) (the next pass re-checks these clusters before acting)")
            }
            if !report.isHealthy {
                if report.schemaVersion < report.knownSchemaVersion {
                    printError(
                        "costguard: the ledger is at schema \(report.schemaVersion); the next reconcile or serve "
                            + "migrates it to \(report.knownSchemaVersion)"
                    )
                }
                throw ExitCode(ExitStatus.ledgerCheckFailed.rawValue)
            }
            print("ok")
        }
    }

    /// `costguard ledger backup PATH`.
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the ledger (online: safe while serve writes).",
            discussion: """
                The copy is one committed state of the ledger, checked with SQLite's integrity check, written to a \
                temporary file and renamed into place, with mode 0600.

                Example:
                  costguard ledger backup /var/backups/costguard-$(date +%F).sqlite
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The file to write. It must not exist unless --force is given.")
        var destination: String

        @Flag(help: "Replace the destination if it exists.")
        var force = false

        func run() throws {
            let path = database.resolvedPath()
            do {
                let bytes = try Ledger.openReadOnly(path: path).maintenance.backup(to: destination, overwrite: force)
                print("backed up \(path) to \(destination) (\(bytes) bytes)")
            } catch {
                printError("costguard: \(error)")
                throw ExitCode(ExitStatus.ledgerUnavailable.rawValue)
            }
        }
    }
}
