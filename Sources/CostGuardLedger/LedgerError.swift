/// Why the ledger could not be opened, checked, written or copied: what failed, on which file, and what to do.
///
/// `description` is safe to print to an operator; it always names the file and ends with the fix.
public struct LedgerError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kinds of failure a caller may want to tell apart.
    public enum Code: String, Sendable {
        /// The ledger path names a directory.
        case pathIsDirectory
        /// The directory that should hold the ledger does not exist.
        case missingDirectory
        /// The ledger (or its directory) cannot be written: read-only file system or permissions.
        case readOnly
        /// The file is not an SQLite database, or belongs to another program.
        case notALedger
        /// SQLite found damage in the file.
        case corrupt
        /// An applied migration's text differs from the one this binary embeds.
        case editedMigration
        /// The database was migrated by a newer CostGuard.
        case newerSchema
        /// The database is locked by another writer for longer than the busy timeout.
        case busy
        /// The disk or the size limit is full.
        case full
        /// The backup destination already exists.
        case destinationExists
        /// Any other SQLite or file-system failure.
        case ioFailure
    }

    /// What kind of failure this is.
    public let code: Code
    /// The file (or directory) concerned.
    public let path: String
    /// What went wrong, in one sentence.
    public let message: String
    /// What the operator should do about it.
    public let fix: String
    /// The underlying SQLite or system error, for `debugDescription`.
    public let underlying: String?

    package init(_ code: Code, path: String, message: String, fix: String, underlying: String? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.fix = fix
        self.underlying = underlying
    }

    public var description: String {
        "ledger \(path): \(message). Fix: \(fix)"
    }

    public var debugDescription: String {
        description + (underlying.map { " (\($0))" } ?? "")
    }
}

extension LedgerError {
    /// Classifies an SQLite failure on `path` into a ledger error with a fix.
    package static func from(_ error: SQLiteError, path: String, doing action: String) -> LedgerError {
        // An I/O error whose cause is a full or read-only file system (SQLite reports writes to the WAL index
        // or a failed fsync as SQLITE_IOERR) is classified as SQLITE_FULL or SQLITE_READONLY, with their fixes.
        var code = error.primaryCode
        if code == 10 {  // SQLITE_IOERR
            switch error.systemErrno {
            case 28, 122: code = 13  // ENOSPC, EDQUOT
            case 30: code = 8  // EROFS
            default: break
            }
        }
        // Primary result codes from sqlite3.h.
        switch code {
        case 5, 6:  // SQLITE_BUSY, SQLITE_LOCKED
            return LedgerError(
                .busy,
                path: path,
                message: "the database stayed locked by another process while \(action)",
                fix: "check that only one 'costguard serve' or 'costguard reconcile' writes this ledger, then retry",
                underlying: error.description
            )
        case 8:  // SQLITE_READONLY
            return LedgerError(
                .readOnly,
                path: path,
                message: "the database cannot be written while \(action) (read-only file or file system)",
                fix: "give the CostGuard user write access to the file and its directory "
                    + "(with systemd, use StateDirectory=costguard)",
                underlying: error.description
            )
        case 11, 26:  // SQLITE_CORRUPT, SQLITE_NOTADB
            return LedgerError(
                .corrupt,
                path: path,
                message: "the database is damaged or is not an SQLite file (found while \(action))",
                fix: "stop CostGuard, move the file aside, and restore the last 'costguard ledger backup' copy "
                    + "(or start with an empty ledger: CostGuard rediscovers clusters from execution histories)",
                underlying: error.description
            )
        case 13:  // SQLITE_FULL
            return LedgerError(
                .full,
                path: path,
                message: "the disk is full while \(action); the transaction was rolled back",
                fix: "free space on the file system that holds the ledger, then retry",
                underlying: error.description
            )
        case 14:  // SQLITE_CANTOPEN
            return LedgerError(
                .readOnly,
                path: path,
                message: "the database cannot be opened while \(action)",
                fix: "check that the file and its directory exist and are readable and writable by the CostGuard user",
                underlying: error.description
            )
        case 23:  // SQLITE_AUTH / permission
            return LedgerError(
                .readOnly,
                path: path,
                message: "permission denied while \(action)",
                fix: "give the CostGuard user access to the ledger file",
                underlying: error.description
            )
        default:
            return LedgerError(
                .ioFailure,
                path: path,
                message: "SQLite failed while \(action): \(error.message)",
                fix: "check the file system that holds the ledger; run 'costguard ledger check'",
                underlying: error.description
            )
        }
    }
}
