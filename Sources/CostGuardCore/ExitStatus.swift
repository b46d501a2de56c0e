/// The exit codes of every `costguard` command, documented in the README and `--help`.
///
/// Codes 64 and up follow BSD `sysexits.h`, which cron wrappers and systemd already understand.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The command completed and nothing needs attention.
    case success = 0
    /// Orphans remain that were not terminated (dry run, protected, report-only, deferred).
    case orphansRemain = 3
    /// The pass was degraded by AWS errors; uncertain clusters were left alone.
    case degraded = 4
    /// A flag or argument was wrong (`EX_USAGE`).
    case usage = 64
    /// The ledger failed its check (`EX_DATAERR`).
    case ledgerCheckFailed = 65
    /// An internal error (`EX_SOFTWARE`).
    case internalError = 70
    /// The ledger could not be opened, read or written (`EX_IOERR`).
    case ledgerUnavailable = 74
    /// Another CostGuard holds the state-directory lock (`EX_TEMPFAIL`).
    case locked = 75
    /// The configuration is invalid (`EX_CONFIG`).
    case configuration = 78
}
