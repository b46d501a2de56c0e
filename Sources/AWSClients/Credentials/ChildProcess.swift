internal import Dispatch

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Runs a program to its end (for `credential_process`): `posix_spawnp` (a name without `/` is looked up in `PATH`),
/// standard input from `/dev/null`, standard output and error read as they come, so a child that prints a lot
/// cannot block on a full pipe.
enum ChildProcess {
    struct Finished: Sendable {
        enum Ending: Sendable, Equatable {
            case exited(Int32)
            case killed(signal: Int32)
        }

        var ending: Ending
        var output: [UInt8]
        /// The start of standard error (at most `errorLimit` bytes are kept).
        var errors: [UInt8]

        var succeeded: Bool { ending == .exited(0) }

        var statusText: String {
            switch ending {
            case .exited(let code): "exited with status \(code)"
            case .killed(let signal): "was killed by signal \(signal)"
            }
        }
    }

    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// Standard output beyond this fails the run: credentials are a few hundred bytes.
    static let outputLimit = 1 << 20
    static let errorLimit = 64 * 1024

    /// Runs `arguments` (the program first) on a Dispatch worker, off the concurrency pool: the reads block.
    static func run(_ arguments: [String]) async throws(Failure) -> Finished {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Finished, Failure>, Never>) in
            DispatchQueue.global().async { continuation.resume(returning: runBlocking(arguments)) }
        }
        return try result.get()
    }

    static func runBlocking(_ arguments: [String]) -> Result<Finished, Failure> {
        guard let program = arguments.first else { return .failure(Failure(description: "the command is empty")) }
        guard !arguments.contains(where: { $0.utf8.contains(0) }) else {
            return .failure(Failure(description: "the command holds a NUL byte"))
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard makePipe(&outPipe) else { return .failure(Failure(description: "pipe: \(errorText(errno))")) }
        guard makePipe(&errPipe) else {
            let failure = Failure(description: "pipe: \(errorText(errno))")
            close(outPipe[0])
            close(outPipe[1])
            return .failure(failure)
        }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        var spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        // ETXTBSY: the program file is open for writing somewhere — typically a copy of a descriptor inherited by a
        // process forked elsewhere that has not yet exec'd, or an update of the helper in progress. Transient.
        var attempt = 0
        while spawned == ETXTBSY && attempt < 10 {
            attempt += 1
            usleep(useconds_t(20_000 * attempt))
            spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        }
        close(outPipe[1])
        close(errPipe[1])
        guard spawned == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            return .failure(Failure(description: errorText(spawned)))
        }

        var output: [UInt8] = []
        var errors: [UInt8] = []
        var overflow = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var fds = [
            pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
        ]
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break  // closing the pipes below ends a child that still writes (SIGPIPE)
            }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { posixRead(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if index == 0 {
                        if output.count + count <= outputLimit { output += buffer[0..<count] } else { overflow = true }
                    } else if errors.count < errorLimit {
                        errors += buffer[0..<min(count, errorLimit - errors.count)]
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fds[index].fd)
                    fds[index].fd = -1
                }
            }
        }
        for descriptor in fds where descriptor.fd >= 0 { close(descriptor.fd) }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return .failure(Failure(description: "waitpid: \(errorText(errno))")) }
        }
        guard !overflow else {
            return .failure(Failure(description: "it printed more than \(outputLimit >> 20) MiB on standard output"))
        }
        // The <sys/wait.h> macros: the low 7 bits are the signal that ended the child, 0 for a normal exit.
        let signal = status & 0x7f
        let ending: Finished.Ending = signal == 0 ? .exited((status >> 8) & 0xff) : .killed(signal: signal)
        return .success(Finished(ending: ending, output: output, errors: errors))
    }

    /// A pipe whose ends close on exec (the child gets them only as its descriptors 1 and 2). Glibc's module does
    /// not export `pipe2`; the window between `pipe` and `fcntl` matters only to another thread spawning at once,
    /// and CostGuard spawns only here.
    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
