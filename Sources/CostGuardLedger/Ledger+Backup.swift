#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

extension Ledger {
    /// Writes a consistent copy of the ledger to `destination` with SQLite's online backup API.
    ///
    /// The copy is taken in one step inside one read transaction, so it is a single committed state even while
    /// another process writes. It is written to a temporary file beside `destination` (mode 0600), checked with
    /// `integrity_check`, fsynced, and only then renamed into place: an interrupted backup leaves no partial file
    /// under the final name.
    ///
    /// - Parameters:
    ///   - destination: the file to create.
    ///   - overwrite: replace an existing file at `destination`. Default `false`.
    /// - Returns: the size of the copy in bytes.
    @discardableResult
    public func backup(to destination: String, overwrite: Bool = false) throws(LedgerError) -> Int {
        var info = stat()
        if stat(destination, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw LedgerError(
                    .pathIsDirectory,
                    path: destination,
                    message: "the backup destination is a directory",
                    fix: "name a file, e.g. \(destination)/ledger-backup.sqlite"
                )
            }
            if !overwrite {
                throw LedgerError(
                    .destinationExists,
                    path: destination,
                    message: "the backup destination already exists",
                    fix: "choose a new file name, or pass --force to replace it"
                )
            }
        }
        let directory = LedgerFile.parent(of: destination)
        let temporary = "\(directory)/.\(destination.split(separator: "/").last ?? "backup").\(getpid()).partial"
        unlink(temporary)
        let fd = Glibc_open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LedgerError(
                .readOnly,
                path: destination,
                message: "cannot create a file in \(directory): \(String(cString: strerror(errno)))",
                fix: "choose a writable directory for the backup"
            )
        }
        close(fd)
        do {
            do {
                let copy = try SQLiteConnection(path: temporary, mode: .readWrite)
                try read("copying the ledger") { db in try db.backup(into: copy) }
                let problems = try copy.query("PRAGMA integrity_check").compactMap { $0[0].text }.filter { $0 != "ok" }
                guard problems.isEmpty else {
                    throw LedgerError(
                        .corrupt,
                        path: destination,
                        message: "the copy failed its integrity check: \(problems.joined(separator: "; "))",
                        fix: "run 'costguard ledger check' on the source ledger"
                    )
                }
                // Leave the copy self-contained: fold any WAL content into the main file.
                try copy.execute("PRAGMA journal_mode = DELETE")
            }
            try LedgerFile.sync(temporary)
            guard rename(temporary, destination) == 0 else {
                throw LedgerError(
                    .ioFailure,
                    path: destination,
                    message: "cannot move the finished copy into place: \(String(cString: strerror(errno)))",
                    fix: "check the destination directory"
                )
            }
            try LedgerFile.sync(directory)
        } catch {
            unlink(temporary)
            unlink(temporary + "-wal")
            unlink(temporary + "-shm")
            if let error = error as? LedgerError { throw error }
            if let error = error as? SQLiteError { throw LedgerError.from(error, path: destination, doing: "backup") }
            throw LedgerError(.ioFailure, path: destination, message: "\(error)", fix: "retry")
        }
        stat(destination, &info)
        return Int(info.st_size)
    }
}
