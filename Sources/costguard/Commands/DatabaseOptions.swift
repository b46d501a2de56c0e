import ArgumentParser
import CostGuardCore
import CostGuardService

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
            valueName: "path"
        )
    )
    var database: String?

    /// The path to use, after defaults.
    func resolvedPath(environment: [String: String] = currentEnvironment()) -> String {
        LedgerLocation.resolve(explicit: database, environment: environment)
    }
}

/// Prints to standard error.
func printError(_ message: String) {
    StandardStream.error(message + "\n")
}

/// The process environment.
func currentEnvironment() -> [String: String] {
    ProcessInfo.processInfo.environment
}

/// Reads the configuration file: `--config`, else `$COSTGUARD_CONFIG`, else `$CONFIGURATION_DIRECTORY/costguard.toml`
/// (systemd), else none (the defaults). A missing or invalid file exits 78 with the file, line and key.
func loadConfigFile(explicit: String?, environment: [String: String]) throws -> ConfigFile {
    var path = explicit ?? environment["COSTGUARD_CONFIG"]
    if path == nil, let directory = environment["CONFIGURATION_DIRECTORY"] {
        path = directory.split(separator: ":").first.map { "\($0)/costguard.toml" }
    }
    guard let path else { return ConfigFile() }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw SetupError(
            .configuration,
            "cannot read the configuration file \(path); check the path and its permissions"
        )
    }
    do {
        return try ConfigFile.parse(String(decoding: data, as: UTF8.self), path: path)
    } catch {
        throw SetupError(.configuration, "\(error)")
    }
}
