/// A failure reported by SQLite itself: the result code, SQLite's message, and the statement that failed.
package struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    package let code: Int32
    /// SQLite's message for that code.
    package let message: String
    /// The SQL that failed, when a statement was involved.
    package let sql: String?
    /// The operating system's errno behind an I/O error (`sqlite3_system_errno`), 0 when none.
    package var systemErrno: Int32 = 0

    package init(code: Int32, message: String, sql: String?, systemErrno: Int32 = 0) {
        self.code = code
        self.message = message
        self.sql = sql
        self.systemErrno = systemErrno
    }

    /// The primary result code (the low byte of the extended one).
    package var primaryCode: Int32 { code & 0xff }

    package var description: String {
        "SQLite error \(code): \(message)" + (systemErrno != 0 ? " (errno \(systemErrno))" : "")
    }
}
