import ArgumentParser
import CostGuardCore

import Foundation

/// `--database PATH`, shared by every command that opens the ledger.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger file.",
            discussion: """
                Default: $COSTGUARD_DATABASE, else $STATE_DIRECTORY/ledger.sqlite (set by systemd's \
                StateDirectory=), else $XDG_STATE_HOME/costguard/ledger.sqlite, else \
                ~/.local/state/costguard/ledger.sqlite.
                """,
            valueName: "path"))
    var database: String?

    /// The path to use, after defaults.
    func resolvedPath(environment: [String: String] = currentEnvironment()) -> String {
        LedgerLocation.resolve(explicit: database, environment: environment)
    }
}

/// Prints to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The process environment.
func currentEnvironment() -> [String: String] {
    ProcessInfo.processInfo.environment
}
