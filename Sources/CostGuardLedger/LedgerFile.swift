#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// File-system checks made before SQLite sees the ledger path, so that each mistake gets its own error and fix.
enum LedgerFile {
    /// The 16-byte header of every SQLite 3 database file.
    static let sqliteHeader: [UInt8] = Array("SQLite format 3".utf8) + [0]

    /// Makes sure `path` can hold a writable ledger, creating an empty file with mode 0600 if none exists.
    static func prepareForWriting(_ path: String) throws(LedgerError) {
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw LedgerError(
                    .pathIsDirectory, path: path, message: "this path is a directory, not a ledger file",
                    fix: "pass a file path such as \(path.hasSuffix("/") ? path : path + "/")ledger.sqlite")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw LedgerError(
                    .notALedger, path: path, message: "this path is not a regular file",
                    fix: "pass the path of a ledger file (a new name creates one)")
            }
            let directory = parent(of: path)
            if access(directory, W_OK) != 0 || isReadOnlyFileSystem(directory) {
                throw readOnlyDirectory(directory, file: path)
            }
            return
        }
        let directory = parent(of: path)
        var dirInfo = stat()
        guard stat(directory, &dirInfo) == 0, (dirInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw LedgerError(
                .missingDirectory, path: path, message: "the directory \(directory) does not exist",
                fix: "create it (mkdir -p \(directory)), or with systemd set StateDirectory=costguard")
        }
        let fd = Glibc_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let code = errno
            if code == EEXIST { return }
            if code == EACCES || code == EROFS || code == EPERM {
                throw readOnlyDirectory(directory, file: path)
            }
            throw LedgerError(
                .ioFailure, path: path, message: "cannot create the ledger file: \(String(cString: strerror(code)))",
                fix: "check the directory \(directory) and its file system")
        }
        close(fd)
    }

    /// Makes sure `path` is an existing regular file (for read-only use).
    static func requireExistingFile(_ path: String) throws(LedgerError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw LedgerError(
                .ioFailure, path: path, message: "there is no ledger file here",
                fix: "run 'costguard reconcile' once to create it, or pass --database with the right path")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw LedgerError(
                .pathIsDirectory, path: path, message: "this path is a directory, not a ledger file",
                fix: "pass a file path such as \(path.hasSuffix("/") ? path : path + "/")ledger.sqlite")
        }
    }

    /// Refuses a non-empty file whose first 16 bytes are not SQLite's header, without changing it.
    static func checkHeader(_ path: String) throws(LedgerError) {
        let fd = Glibc_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return }  // SQLite opened it; let SQLite report any later failure.
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
        if count == 0 { return }  // a new, empty ledger
        if count != 16 || header != sqliteHeader {
            throw LedgerError(
                .notALedger, path: path,
                message: "this file is not an SQLite database (its header is damaged, or it is another kind of file)",
                fix: "point --database at a CostGuard ledger; if this was the ledger, stop CostGuard, move the file "
                    + "aside and restore the last 'costguard ledger backup' copy")
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    private static func readOnlyDirectory(_ directory: String, file: String) -> LedgerError {
        LedgerError(
            .readOnly, path: file,
            message: "the directory \(directory) is not writable (read-only file system or permissions); "
                + "SQLite needs to create the ledger and its -wal and -shm files there",
            fix: "give the CostGuard user write access to \(directory) (with systemd, use StateDirectory=costguard "
                + "and keep ReadWritePaths in line with ProtectSystem=strict)")
    }
}

/// `true` when the file system holding `path` is mounted read-only.
func isReadOnlyFileSystem(_ path: String) -> Bool {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { return false }
    return (info.f_flag & UInt(ST_RDONLY)) != 0
}

/// `open(2)` with an explicit mode (the variadic C function is not directly callable from Swift on every platform).
func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}
