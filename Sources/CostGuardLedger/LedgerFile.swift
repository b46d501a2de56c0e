#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// File-system checks made before SQLite sees the ledger path, so that each mistake gets its own error and fix.
enum LedgerFile {
    /// The 16-byte header of every SQLite 3 database file.
    static let sqliteHeader: [UInt8] = Array("SQLite format 3".utf8) + [0]

    /// What `prepareForWriting` found at the ledger's path.
    enum Presence {
        /// A regular file (perhaps empty), in a writable directory.
        case existing
        /// Nothing yet; the directory exists. `Ledger.open` creates the ledger whole (see `Ledger.create`).
        case absent
    }

    /// Makes sure `path` can hold a writable ledger, and says whether a file is already there.
    static func prepareForWriting(_ path: String) throws(LedgerError) -> Presence {
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw LedgerError(
                    .pathIsDirectory,
                    path: path,
                    message: "this path is a directory, not a ledger file",
                    fix: "pass a file path such as \(path.hasSuffix("/") ? path : path + "/")ledger.sqlite"
                )
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw LedgerError(
                    .notALedger,
                    path: path,
                    message: "this path is not a regular file",
                    fix: "pass the path of a ledger file (a new name creates one)"
                )
            }
            let directory = parent(of: path)
            if access(directory, W_OK) != 0 || isReadOnlyFileSystem(directory) {
                throw readOnlyDirectory(directory, file: path)
            }
            return .existing
        }
        let directory = parent(of: path)
        var dirInfo = stat()
        guard stat(directory, &dirInfo) == 0, (dirInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw LedgerError(
                .missingDirectory,
                path: path,
                message: "the directory \(directory) does not exist",
                fix: "create it (mkdir -p \(directory)), or with systemd set StateDirectory=costguard"
            )
        }
        return .absent
    }

    /// Creates `path` with `O_EXCL` and mode 0600 and takes an exclusive `flock` on it, mapping a refusal to the
    /// error and fix a user needs: `ledger` names the file the user asked for, which `path` may be a temporary
    /// stand-in for. Returns the open descriptor, which holds the lock until the caller closes it.
    static func createExclusiveLocked(_ path: String, ledger: String) throws(LedgerError) -> Int32 {
        let fd = Glibc_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd < 0 else {
            flock(fd, LOCK_EX)  // a new file no one else has opened yet: never blocks
            return fd
        }
        let code = errno
        let directory = parent(of: path)
        if code == EACCES || code == EROFS || code == EPERM {
            throw readOnlyDirectory(directory, file: ledger)
        }
        throw LedgerError(
            .ioFailure,
            path: ledger,
            message: "cannot create \(path): \(String(cString: strerror(code)))",
            fix: "check the directory \(directory) and its file system"
        )
    }

    /// Removes a temporary ledger file and the journal files SQLite may have left beside it.
    static func removeWithSidecars(_ path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// Removes `.NAME.PID.RANDOM.creating` files (and their journals) beside `ledger` that no creation holds: what a
    /// creation killed before it linked its file into place leaves behind.
    ///
    /// A creation holds an exclusive `flock` on its file from the moment it exists to the moment it is unlinked, and
    /// the kernel drops the lock when the process dies, however it dies; so a file whose lock can be taken is
    /// abandoned (PIDs are not trusted for this: a container's processes get the same small PIDs at every start).
    /// Files changed in the last `minimumAge` are left alone, which covers the instant between another creation's
    /// `open` and its `flock`.
    static func removeAbandonedCreations(beside ledger: String, minimumAge: Int = 10) {
        let directory = parent(of: ledger)
        guard let dir = opendir(directory) else { return }
        var candidates: [String] = []
        let prefix = "." + name(of: ledger) + "."
        while let entry = readdir(dir) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if file.hasPrefix(prefix) && file.hasSuffix(".creating") { candidates.append(directory + "/" + file) }
        }
        closedir(dir)
        let now = time(nil)
        for path in candidates {
            let fd = Glibc_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                now - info.st_mtim.tv_sec >= minimumAge, flock(fd, LOCK_EX | LOCK_NB) == 0
            else { continue }
            removeWithSidecars(path)
        }
    }

    /// `fsync(2)` of a file or a directory (a directory after a rename or link in it).
    static func sync(_ path: String) throws(LedgerError) {
        let fd = Glibc_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        if fsync(fd) != 0 {
            throw LedgerError(
                .ioFailure,
                path: path,
                message: "fsync failed: \(String(cString: strerror(errno)))",
                fix: "check the file system"
            )
        }
    }

    /// Makes sure `path` is an existing regular file (for read-only use).
    static func requireExistingFile(_ path: String) throws(LedgerError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw LedgerError(
                .ioFailure,
                path: path,
                message: "there is no ledger file here",
                fix: "run 'costguard reconcile' once to create it, or pass --database with the right path"
            )
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw LedgerError(
                .pathIsDirectory,
                path: path,
                message: "this path is a directory, not a ledger file",
                fix: "pass a file path such as \(path.hasSuffix("/") ? path : path + "/")ledger.sqlite"
            )
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
                .notALedger,
                path: path,
                message: "this file is not an SQLite database (its header is damaged, or it is another kind of file)",
                fix: "point --database at a CostGuard ledger; if this was the ledger, stop CostGuard, move the file "
                    + "aside and restore the last 'costguard ledger backup' copy"
            )
        }
    }

    /// The last component of `path` (the file's name), or `path` itself when it has none.
    static func name(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    private static func readOnlyDirectory(_ directory: String, file: String) -> LedgerError {
        LedgerError(
            .readOnly,
            path: file,
            message: "the directory \(directory) is not writable (read-only file system or permissions); "
                + "SQLite needs to create the ledger and its -wal and -shm files there",
            fix: "give the CostGuard user write access to \(directory) (with systemd, use StateDirectory=costguard "
                + "and keep ReadWritePaths in line with ProtectSystem=strict)"
        )
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
