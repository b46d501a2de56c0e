#if canImport(Glibc)
internal import Glibc
#endif

/// One CostGuard per ledger: an exclusive `flock` on `costguard.lock` beside the ledger, holding the holder's pid
/// and command so that a refused second instance can say who has it. Released when the process exits.
public final class InstanceLock: Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Why the lock could not be taken.
    public struct Busy: Error, CustomStringConvertible {
        public let path: String
        public let holder: String
        public var description: String {
            "another CostGuard holds \(path) (\(holder.isEmpty ? "holder unknown" : holder)); wait for it to finish, "
                + "or stop it (with systemd: systemctl stop costguard), or pass --wait"
        }
    }

    /// The lock file cannot be opened or created (a missing or read-only directory: the ledger's own open says more).
    public struct Unavailable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String {
            "cannot open the lock file \(path): \(reason); check that the ledger's directory exists and is writable"
        }
    }

    /// Takes the lock for the ledger at `databasePath`.
    ///
    /// - Parameters:
    ///   - command: written into the lock file (`serve`, `reconcile`).
    ///   - wait: block until the lock is free instead of failing.
    public static func acquire(forDatabase databasePath: String, command: String, wait: Bool) throws -> InstanceLock {
        let directory = databasePath.lastIndex(of: "/").map { String(databasePath[..<$0]) } ?? "."
        let path = (directory.isEmpty ? "" : directory) + "/costguard.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Unavailable(path: path, reason: String(cString: strerror(errno)))
        }
        if flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = pread(fd, &buffer, 255, 0)
            close(fd)
            let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingNewlines : ""
            throw Busy(path: path, holder: holder)
        }
        let text = Array("pid \(getpid()) costguard \(command)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, text.count, 0) }
        return InstanceLock(path: path, fd: fd)
    }

    deinit { close(fd) }
}

extension String {
    var trimmingNewlines: String {
        var s = self
        while s.last == "\n" || s.last == "\0" { s.removeLast() }
        return s
    }
}
