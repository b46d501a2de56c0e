import ArgumentParser
import CostGuardCore

/// `costguard`: the root command and the program entry point.
@main
struct CostGuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "costguard",
        abstract: "Terminates the EMR clusters that ended AWS Step Functions executions leave running.",
        discussion: """
            Step Functions does not terminate an EMR cluster when the execution that created it is stopped, fails \
            or times out. CostGuard reads execution histories to learn which execution created which cluster, \
            keeps that in a local SQLite ledger, and terminates the clusters whose workflow has ended.

            EXIT CODES
              0   success; nothing needs attention
              3   orphans remain that were not terminated (dry run, protected, deferred…)
              4   the pass was degraded by AWS errors; uncertain clusters were left alone
              64  usage error (bad flag or argument)
              65  the ledger failed its check (damage, foreign keys, schema version)
              70  internal error
              74  the ledger could not be opened, read or written
              75  another CostGuard holds the lock (try again later)
              78  configuration error
            """,
        version: CostGuardVersion.current,
        subcommands: [
            ReconcileCommand.self, ServeCommand.self, ReportCommand.self, JournalCommand.self, DoctorCommand.self,
            LedgerCommand.self, VersionCommand.self,
        ]
    )
}

/// Why CostGuard could not start, with the exit status that says so: every set-up failure (configuration, AWS
/// settings, the instance lock, the ledger) is one of these, and `CostGuardCommand.main` alone turns it into the
/// message on stderr and the exit code.
struct SetupError: Error, CustomStringConvertible {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}

extension CostGuardCommand {
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as SetupError {
            printError("costguard: \(error.message)")
            exit(withError: ExitCode(error.status.rawValue))
        } catch {
            exit(withError: error)
        }
    }
}
