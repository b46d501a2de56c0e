public import CostGuardCore

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

extension MaintenanceStore {
    /// Runs SQLite's full integrity check and foreign-key check, and reads the schema version.
    public func check() throws(LedgerError) -> LedgerCheckReport {
        try readSnapshot("checking the ledger") { db in
            let integrity = try db.query("PRAGMA integrity_check(100)").compactMap { $0[0].text }.filter { $0 != "ok" }
            let foreignKeys = try db.query("PRAGMA foreign_key_check").map { row in
                "\(row["table"].text ?? "?") row \(row["rowid"].integer.map(String.init) ?? "?") → "
                    + "missing \(row["parent"].text ?? "?")"
            }
            var counts: [(String, Int)] = []
            for table in Ledger.countedTables where schemaVersion >= 1 {
                counts.append((table, Int(try db.query("SELECT count(*) FROM \(table)").first?[0].integer ?? 0)))
            }
            let open =
                schemaVersion >= 1
                ? try db.query("SELECT count(*) FROM (\(Ledger.openIntentsQuery))").first?[0].integer ?? 0
                : 0
            return LedgerCheckReport(
                integrityProblems: integrity,
                foreignKeyProblems: foreignKeys,
                schemaVersion: schemaVersion,
                knownSchemaVersion: Migration.latestVersion,
                openIntents: Int(open),
                counts: counts
            )
        }
    }

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

    /// The last whole-file check recorded in the ledger, with why it was made and how long it took.
    public func lastQuickCheck() throws(LedgerError) -> (checkedAt: Timestamp, reason: String, seconds: Double)? {
        try read("reading the last quick_check") { db in
            try Ledger.readLastQuickCheck(db).map { ($0.record.checkedAt, $0.reason, $0.seconds) }
        }
    }
}
