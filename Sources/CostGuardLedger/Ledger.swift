public import CostGuardCore
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The ledger: one SQLite file that keeps what CostGuard knows (state machines, executions, clusters, references)
/// and what it did (passes and the append-only journal).
///
/// A read-write `Ledger` is the process's one writer: it owns a single connection behind a `Mutex`, and every write
/// method is one `BEGIN IMMEDIATE` transaction. Read-only ledgers (report, check, backup) may be opened by other
/// processes while it writes.
///
/// What it keeps is reached through intent-named stores over that one connection: `stateMachines`, `executions`,
/// `histories`, `clusters`, `decisions`, `journal` and `maintenance` (`ledger.executions.record(…)`).
///
/// How the file is opened, and why:
/// - `journal_mode=WAL`: readers (report, backup) never block the writer and never see half a transaction.
/// - `synchronous=FULL`: every commit is fsynced. With `NORMAL`, WAL commits survive a process crash but not a
///   power loss or kernel panic; the journal promises that an intent row is durable *before* the AWS call it
///   announces, so CostGuard pays one fsync per transaction (a few per pass) for that promise.
/// - `foreign_keys=ON` (the schema's constraints are the data's guard), a busy timeout, and a new file created with mode 0600 (SQLite gives
///   its `-wal` and `-shm` files the same mode).
public final class Ledger: Sendable {
    /// How the ledger is opened.
    public struct Configuration: Sendable {
        /// How long a write waits for another connection's lock before failing. Default 5 s.
        public var busyTimeout: Duration = .seconds(5)
        /// The longest time between two `PRAGMA quick_check`s of the whole file, made before writing (at open and
        /// at the start of a pass; see `QuickCheckSchedule` for the other reasons to make one). Default 24 h;
        /// `.zero` checks at every open and pass. A check reads every page: 1.7 s of CPU for a 250 MiB ledger.
        public var quickCheckInterval: Duration = QuickCheckSchedule.defaultInterval

        public init() {}
    }

    /// The file.
    public let path: String
    /// `true` when opened read-only.
    public let isReadOnly: Bool
    /// The schema version of the file.
    public let schemaVersion: Int
    /// The one connection and what this process keeps beside it; every use holds the mutex.
    private let state: Mutex<State>

    /// Unchecked: the connection and the memo are classes no other code holds; they are reached only through the
    /// mutex, one thread at a time.
    struct State: @unchecked Sendable {
        let connection: SQLiteConnection
        /// The state machines this connection last wrote as seen.
        let machinesSeen = MachinesSeen()
        /// The last whole-file check this process knows of, and when the next is due (see `startPass`). `nil` for
        /// a read-only or in-memory ledger.
        var quickChecks: QuickCheckState?
    }

    private init(
        path: String,
        isReadOnly: Bool,
        schemaVersion: Int,
        connection: sending SQLiteConnection,
        quickChecks: QuickCheckState? = nil
    ) {
        self.path = path
        self.isReadOnly = isReadOnly
        self.schemaVersion = schemaVersion
        self.state = Mutex(State(connection: connection, quickChecks: quickChecks))
    }

    /// Opens (creating if needed) the ledger for writing and brings its schema up to date.
    ///
    /// Every check happens before the first write: a file that is refused is left byte for byte as it was.
    ///
    /// - Parameters:
    ///   - path: the database file. Its directory must exist.
    ///   - now: the time recorded for migrations applied now.
    ///   - configuration: busy timeout and open-time checks.
    /// - Throws: `LedgerError` naming the file and the fix.
    public static func open(
        path: String,
        now: Timestamp,
        configuration: Configuration = Configuration()
    ) throws(LedgerError) -> Ledger {
        try open(path: path, now: now, configuration: configuration, runner: MigrationRunner())
    }

    /// `open` with the migrations to apply (tests pass a broken set to show that a failed creation leaves nothing).
    static func open(
        path: String,
        now: Timestamp,
        configuration: Configuration,
        runner: MigrationRunner
    ) throws(LedgerError) -> Ledger {
        let presence = try LedgerFile.prepareForWriting(path)
        // What a creation killed before it finished left beside the path (every writable open looks: a kill can also
        // land between linking the new ledger into place and removing its temporary name).
        LedgerFile.removeAbandonedCreations(beside: path)
        if presence == .absent {
            try create(at: path, now: now, runner: runner)
        }
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: path, mode: .readWrite)
        } catch {
            throw LedgerError.from(error, path: path, doing: "opening the ledger")
        }
        db.setBusyTimeout(milliseconds: Int32(clamping: configuration.busyTimeout.components.seconds * 1000))
        let version: Int
        var checks: QuickCheckState?
        do {
            // SQLite checks each page it reads more closely (the whole-file check is made only when due).
            try db.execute("PRAGMA cell_size_check = ON;")
            try LedgerFile.checkHeader(path)
            if try db.query("SELECT 1 FROM pragma_database_list WHERE name = 'main'").isEmpty {
                throw LedgerError(.ioFailure, path: path, message: "SQLite opened no main database", fix: "retry")
            }
            try requireJSONFunctions(db)
            let applied = try runner.validate(db)
            // The whole-file check, when due, before the first write (the schedule's record is read from the file).
            var state = QuickCheckState(
                interval: configuration.quickCheckInterval,
                last: try readLastQuickCheck(db)?.record,
                bootID: QuickCheckSchedule.currentBootID(),
                fileID: QuickCheckSchedule.fileID(of: path)
            )
            let checked = try state.checkIfDue(db, now: now)
            state.madeAtOpen = checked != nil
            try requireWritable(db)
            let mode = try db.query("PRAGMA journal_mode = WAL").first?[0].text
            guard mode?.lowercased() == "wal" else {
                throw LedgerError(
                    .ioFailure,
                    path: path,
                    message: "SQLite refused WAL mode (journal_mode is \(mode ?? "?"))",
                    fix: "keep the ledger on a local file system (not NFS or a FUSE mount without locking)"
                )
            }
            try db.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            try runner.migrate(db, applied: applied, now: now.iso8601)
            if let checked {
                try db.transaction {
                    try recordQuickCheck(db, checked.record, reason: checked.reason, seconds: checked.seconds)
                }
            }
            version = runner.migrations.last?.version ?? 0
            checks = state
        } catch let error as LedgerError {
            throw error
        } catch let error as SQLiteError {
            throw LedgerError.from(error, path: path, doing: "opening the ledger")
        } catch {
            throw LedgerError(.ioFailure, path: path, message: "\(error)", fix: "run 'costguard ledger check'")
        }
        return Ledger(path: path, isReadOnly: false, schemaVersion: version, connection: db, quickChecks: checks)
    }

    /// Creates a new ledger at `path` whole or not at all.
    ///
    /// The schema is built in a temporary file beside `path` (`.NAME.PID.RANDOM.creating`, mode 0600), which is fsynced and
    /// then hard-linked to `path`, so no process ever finds a ledger file that is empty or half-migrated, whenever
    /// this one is killed. If another process created `path` meanwhile, its ledger is kept and this one discarded. On
    /// a file system without hard links the file is renamed into place instead (after checking that `path` is still
    /// free). Temporary files left by killed creations are removed by `open`.
    static func create(at path: String, now: Timestamp, runner: MigrationRunner) throws(LedgerError) {
        let directory = LedgerFile.parent(of: path)
        let name = LedgerFile.name(of: path)
        // The PID says whose file it is (for a person reading the directory); the random part keeps two creations
        // in one process apart. The lock on `held` marks the file as in use until it is unlinked (see
        // `removeAbandonedCreations`); it is a `flock`, which SQLite's own POSIX locks on the file do not touch, and
        // `held` is closed only after SQLite has closed its connection (closing any descriptor of a file drops the
        // process's POSIX locks on it).
        let temporary = "\(directory)/.\(name).\(getpid()).\(UInt32.random(in: .min ... .max)).creating"
        let held = try LedgerFile.createExclusiveLocked(temporary, ledger: path)
        defer { close(held) }
        do {
            do {
                let db = try SQLiteConnection(path: temporary, mode: .readWrite)
                try requireJSONFunctions(db)
                try db.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
                _ = try runner.migrate(db, applied: try runner.validate(db), now: now.iso8601)
                // WAL is recorded in the file: the processes that open it next need not switch it (a switch takes
                // an exclusive lock, and several first opens at once could refuse each other as busy).
                _ = try db.query("PRAGMA journal_mode = WAL")
            }  // closed here: the file is complete, and SQLite has no journal left beside it
            try LedgerFile.sync(temporary)
            if link(temporary, path) != 0 {
                let code = errno
                switch code {
                case EEXIST:
                    break  // another process created the ledger first: open that one
                case EPERM, EOPNOTSUPP, EXDEV:
                    // No hard links here (FAT, some FUSE file systems): rename, which replaces, if the name is free.
                    var info = stat()
                    if stat(path, &info) != 0 && rename(temporary, path) != 0 {
                        throw LedgerError(
                            .ioFailure,
                            path: path,
                            message: "cannot move the new ledger into place: \(String(cString: strerror(errno)))",
                            fix: "check the directory \(directory) and its file system"
                        )
                    }
                default:
                    throw LedgerError(
                        .ioFailure,
                        path: path,
                        message: "cannot link the new ledger into place: \(String(cString: strerror(code)))",
                        fix: "check the directory \(directory) and its file system"
                    )
                }
            }
            LedgerFile.removeWithSidecars(temporary)
            try LedgerFile.sync(directory)
        } catch {
            LedgerFile.removeWithSidecars(temporary)
            if let error = error as? LedgerError { throw error }
            if let error = error as? SQLiteError {
                throw LedgerError.from(error, path: path, doing: "creating the ledger")
            }
            throw LedgerError(.ioFailure, path: path, message: "\(error)", fix: "retry")
        }
    }

    /// A new ledger in memory, for fast tests: the same schema, migrations and code as a file, no file (nothing
    /// survives the value, and no other process sees it).
    public static func inMemory(now: Timestamp) throws(LedgerError) -> Ledger {
        let path = ":memory:"
        do {
            let db = try SQLiteConnection(path: path, mode: .memory)
            try requireJSONFunctions(db)
            try db.execute("PRAGMA foreign_keys = ON;")
            let runner = MigrationRunner()
            _ = try runner.migrate(db, applied: try runner.validate(db), now: now.iso8601)
            let version = runner.migrations.last?.version ?? 0
            return Ledger(path: path, isReadOnly: false, schemaVersion: version, connection: db)
        } catch let error as LedgerError {
            throw error
        } catch let error as SQLiteError {
            throw LedgerError.from(error, path: path, doing: "creating a ledger in memory")
        } catch {
            throw LedgerError(.ioFailure, path: path, message: "\(error)", fix: "retry")
        }
    }

    /// Opens an existing ledger read-only, for reports, checks and backups; safe while `serve` writes.
    ///
    /// - Throws: `LedgerError` when the file is missing, damaged, another program's, or from a newer CostGuard.
    public static func openReadOnly(path: String) throws(LedgerError) -> Ledger {
        try LedgerFile.requireExistingFile(path)
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: path, mode: .readOnly)
        } catch {
            throw LedgerError.from(error, path: path, doing: "opening the ledger read-only")
        }
        let version: Int
        do {
            try LedgerFile.checkHeader(path)
            db.setBusyTimeout(milliseconds: 5000)
            try db.execute("PRAGMA cell_size_check = ON;")
            try requireJSONFunctions(db)
            let applied = try MigrationRunner().validate(db)
            version = applied.last?.version ?? 0
        } catch let error as LedgerError {
            throw error
        } catch let error as SQLiteError {
            throw LedgerError.from(error, path: path, doing: "opening the ledger read-only")
        } catch {
            throw LedgerError(.ioFailure, path: path, message: "\(error)", fix: "run 'costguard ledger check'")
        }
        return Ledger(path: path, isReadOnly: true, schemaVersion: version, connection: db)
    }

    /// Runs `body` as one write transaction; rolls back everything if it throws.
    ///
    /// - Parameters:
    ///   - action: what the transaction does, for the error message ("recording pass 12").
    ///   - body: the statements; it must not call back into the ledger.
    @discardableResult
    package func write<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        precondition(!isReadOnly, "write on a read-only ledger")
        return try locked(action) { state in try state.connection.transaction { try body(state.connection) } }
    }

    /// Runs `body` with the connection for reading. On a read-only ledger each statement sees a committed state;
    /// wrap several reads in `readSnapshot` when they must agree.
    package func read<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        try locked(action) { state in try body(state.connection) }
    }

    /// Runs `body` holding the mutex, and turns any failure into a `LedgerError` about `action`.
    func locked<T>(_ action: String, _ body: (inout State) throws -> T) throws(LedgerError) -> T {
        do {
            var result: T?
            try state.withLock { state in result = try body(&state) }
            return result!
        } catch let error as SQLiteError {
            throw LedgerError.from(error, path: path, doing: action)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.ioFailure, path: path, message: "\(action) failed: \(error)", fix: "retry")
        }
    }

    /// Runs `body` inside one read transaction, so every query sees the same snapshot.
    package func readSnapshot<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        try read(action) { db in
            try db.execute("BEGIN DEFERRED")
            defer { try? db.execute("COMMIT") }
            return try body(db)
        }
    }

    /// The ledger's queries over lists of values read them with `json_each` (SQLite's JSON functions: built in
    /// since 3.38, and enabled in the distributions' builds of earlier versions). Refuse a library without them
    /// up front, rather than fail in the middle of a pass.
    private static func requireJSONFunctions(_ db: SQLiteConnection) throws {
        do {
            _ = try db.query("SELECT count(*) FROM json_each('[1]')")
        } catch {
            throw LedgerError(
                .ioFailure,
                path: db.path,
                message:
                    "the SQLite library in use (\(SQLiteConnection.libraryVersion)) has no JSON functions (json_each): \(error)",
                fix:
                    "install SQLite 3.38 or later, or a build with JSON1 enabled (Debian 12's and Ubuntu 22.04's libsqlite3 have it)"
            )
        }
    }

    private static func requireWritable(_ db: SQLiteConnection) throws {
        // SQLite silently opens a write-protected file read-only; refuse that here, before any write is attempted.
        if try db.query("SELECT 1 FROM pragma_database_list WHERE name = 'main'").isEmpty == false,
            access(db.path, W_OK) != 0 || isReadOnlyFileSystem(db.path)
        {
            throw LedgerError(
                .readOnly,
                path: db.path,
                message: "the ledger file or its file system is read-only",
                fix: "give the CostGuard user write access to the file and its directory "
                    + "(with systemd, use StateDirectory=costguard)"
            )
        }
    }
}
