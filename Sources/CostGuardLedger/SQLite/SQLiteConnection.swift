internal import CSQLite

/// One SQLite connection: a thin, owning wrapper over `sqlite3 *`.
///
/// Not thread-safe on its own: the `Ledger` keeps its connection behind a mutex, so one thread uses it at a time
/// (the connection is opened with `SQLITE_OPEN_NOMUTEX`).
package final class SQLiteConnection {
    /// How to open the file.
    package enum Mode: Sendable {
        /// Read and write; the file must exist.
        case readWrite
        /// Read only. Works while another process writes (WAL), provided the `-shm` file exists or can be made.
        case readOnly
        /// A new database in memory (`path` is only a name), gone when the connection closes.
        case memory
    }

    private let handle: OpaquePointer
    /// The path the connection was opened with.
    package let path: String

    /// Opens `path`.
    ///
    /// - Parameters:
    ///   - path: the database file, which must already exist (the ledger creates it with mode 0600 first).
    ///   - mode: read-write or read-only.
    /// - Throws: `SQLiteError` when SQLite cannot open it.
    package init(path: String, mode: Mode) throws(SQLiteError) {
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .memory: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY
        }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        for entry in statements.values { sqlite3_finalize(entry.statement) }
        sqlite3_close_v2(handle)
    }

    /// SQLite's `PRAGMA data_version`: changes whenever another connection (another process) commits.
    package func dataVersion() throws(SQLiteError) -> Int64 {
        var version: Int64 = 0
        try forEachRow("PRAGMA data_version") { row in version = row[0].integer ?? 0 }
        return version
    }

    /// A prepared statement kept for reuse, with its column-name index. A class, so that marking it in use and
    /// free again does not look the SQL text up (hash it) twice more.
    private final class CachedStatement {
        let statement: OpaquePointer
        let columns: [String: Int]
        var inUse = false

        init(statement: OpaquePointer, columns: [String: Int]) {
            self.statement = statement
            self.columns = columns
        }
    }

    /// Prepared statements by SQL text: a pass runs the same few statements thousands of times, and preparing is
    /// most of their cost. Bounded: cleared when it grows past `statementCacheLimit`. Statements over lists of
    /// values keep one text whatever the list's length (`json_each`, see `Ledger.withList`), so a pass's
    /// statements fit.
    private var statements: [String: CachedStatement] = [:]
    private static let statementCacheLimit = 64

    /// How many prepared statements the cache holds (for tests).
    package var cachedStatementCount: Int { statements.count }

    /// The version of the SQLite library in use, e.g. `3.40.1`.
    package static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Runs one or more statements that return no rows we need (DDL, pragmas with side effects, BEGIN/COMMIT).
    package func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(
                code: sqlite3_extended_errcode(handle),
                message: message,
                sql: sql,
                systemErrno: sqlite3_system_errno(handle)
            )
        }
    }

    /// Runs one statement with parameters and returns every row.
    @discardableResult
    package func query(_ sql: String, _ parameters: [SQLValue] = []) throws(SQLiteError) -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, parameters) { rows.append($0) }
        return rows
    }

    /// Runs one statement with parameters and calls `body` for each row, without collecting them.
    package func forEachRow(
        _ sql: String,
        _ parameters: [SQLValue] = [],
        _ body: (SQLRow) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        // Cached and free: reuse it. Cached but in use by an enclosing iteration of the same SQL, or not cached
        // (and the cache full of statements in use): a statement of its own, finalized after.
        let entry: CachedStatement
        let owned: Bool
        if let cached = statements[sql], !cached.inUse {
            (entry, owned) = (cached, false)
        } else {
            let statement = try prepare(sql)
            var names: [String: Int] = [:]
            for index in 0..<sqlite3_column_count(statement) {
                let name = String(cString: sqlite3_column_name(statement, index))
                if names[name] == nil { names[name] = Int(index) }
            }
            entry = CachedStatement(statement: statement, columns: names)
            owned = statements[sql] != nil
            if !owned {
                if statements.count >= Self.statementCacheLimit {
                    for (key, cached) in statements where !cached.inUse {
                        sqlite3_finalize(cached.statement)
                        statements[key] = nil
                    }
                }
                statements[sql] = entry
            }
        }
        let statement = entry.statement
        entry.inUse = true
        defer {
            if owned {
                sqlite3_finalize(statement)
            } else {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
                entry.inUse = false
            }
        }
        try bind(parameters, to: statement, sql: sql)
        let columnCount = sqlite3_column_count(statement)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw SQLiteError(
                    code: sqlite3_extended_errcode(handle),
                    message: lastMessage,
                    sql: sql,
                    systemErrno: sqlite3_system_errno(handle)
                )
            }
            var values: [SQLValue] = []
            values.reserveCapacity(Int(columnCount))
            for index in 0..<columnCount {
                values.append(Self.column(statement, index))
            }
            try body(SQLRow(index: entry.columns, values: values))
        }
    }

    /// Runs one statement with parameters and returns the number of rows it changed.
    @discardableResult
    package func run(_ sql: String, _ parameters: [SQLValue] = []) throws(SQLiteError) -> Int {
        try forEachRow(sql, parameters) { _ in }
        return Int(sqlite3_changes(handle))
    }

    /// The rowid of the last row inserted on this connection.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Sets the busy timeout: how long a statement waits for another connection's lock before failing.
    package func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    ///
    /// `IMMEDIATE` takes the write lock up front, so a busy database fails (or waits) at BEGIN, never halfway
    /// through the body.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // ROLLBACK can only fail if no transaction is open (SQLite already rolled back); nothing to add then.
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Copies the whole database into `destination` (a connection to another file) with the online backup API,
    /// in one step, so the copy is one consistent snapshot even while other processes write.
    package func backup(into destination: SQLiteConnection) throws(SQLiteError) {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw SQLiteError(
                code: sqlite3_extended_errcode(destination.handle),
                message: destination.lastMessage,
                sql: nil
            )
        }
        let rc = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE, finish == SQLITE_OK else {
            let code = rc == SQLITE_DONE ? finish : rc
            throw SQLiteError(code: code, message: String(cString: sqlite3_errstr(code)), sql: nil)
        }
    }

    private var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    private func prepare(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(
                code: sqlite3_extended_errcode(handle),
                message: lastMessage,
                sql: sql,
                systemErrno: sqlite3_system_errno(handle)
            )
        }
        return statement
    }

    private func bind(_ parameters: [SQLValue], to statement: OpaquePointer, sql: String) throws(SQLiteError) {
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw SQLiteError(
                code: SQLITE_RANGE,
                message: "statement takes \(expected) parameters, \(parameters.count) given",
                sql: sql
            )
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .real(let v): rc = sqlite3_bind_double(statement, index, v)
            case .text(let v): rc = sqlite3_bind_text(statement, index, v, -1, costguard_sqlite_transient())
            case .blob(let v):
                rc = v.withUnsafeBytes {
                    sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), costguard_sqlite_transient())
                }
            }
            guard rc == SQLITE_OK else {
                throw SQLiteError(code: rc, message: lastMessage, sql: sql)
            }
        }
    }

    private static func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, index) else { return .null }
            return .text(String(cString: text))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }
}
