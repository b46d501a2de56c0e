public import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A child process that runs while a test needs it and is killed when the test lets go of it.
public final class BackgroundProcess: @unchecked Sendable {
    public let process: Process
    private let output: Pipe

    /// Starts `executable` without waiting for anything.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Starts `executable` and waits (up to `timeout`) for a line on its standard output that starts with
    /// `readyPrefix`, without blocking a thread of the concurrency pool while it waits.
    public static func start(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        readyPrefix: String,
        timeout: Duration = .seconds(30)
    ) async throws -> BackgroundProcess {
        let started = try BackgroundProcess(executable, arguments, environment: environment)
        let seen = OutputWatcher(prefix: readyPrefix)
        started.output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            seen.append(data)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && started.process.isRunning && !seen.ready {
            try await Task.sleep(for: .milliseconds(20))
        }
        if seen.ready { return started }
        started.stop()
        throw TestKitError("\(executable) did not print '\(readyPrefix)' (got: \(seen.text.prefix(500)))")
    }

    /// Wraps a process that is already running.
    public var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM, then SIGKILL after a second, and reaps the process.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(1)
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Collects a child's output and notices a ready line.
final class OutputWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    let prefix: String
    init(prefix: String) { self.prefix = prefix }
    func append(_ data: Data) {
        lock.withLock { buffer += String(decoding: data, as: UTF8.self) }
    }
    var text: String { lock.withLock { buffer } }
    var ready: Bool { text.split(separator: "\n").contains { $0.hasPrefix(prefix) } }
}

/// Runs a program to completion without blocking a thread of the concurrency pool; returns its status and output.
public func runToCompletion(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil
) async throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    // Each pipe is read to end of file by a thread of its own with blocking reads: `readabilityHandler` on Linux
    // once reported an end of file early under load and cut `systemd-analyze security`'s output mid-line.
    let outReader = PipeReader(out.fileHandleForReading)
    let errReader = PipeReader(err.fileHandleForReading)
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    // The bound only guards against a grandchild that keeps a pipe open.
    let drainDeadline = ContinuousClock.now + .seconds(30)
    while !(outReader.finished && errReader.finished), ContinuousClock.now < drainDeadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    return (status, outReader.text, errReader.text)
}

/// Reads a pipe to its end on a thread of its own.
final class PipeReader: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var done = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                lock.withLock { buffer.append(data) }
            }
            lock.withLock { done = true }
        }
        thread.start()
    }

    var finished: Bool { lock.withLock { done } }
    var text: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }
}

/// A failure of the test infrastructure itself.
public struct TestKitError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Waits until `url` answers an HTTP GET (with the body `expected`, when given), or throws after `timeout`.
public func waitForHTTP(_ url: String, answering expected: String? = nil, timeout: Duration = .seconds(30)) async throws
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let target = URL(string: url), let (data, _) = try? await URLSession.shared.data(from: target),
            expected.map({ String(decoding: data, as: UTF8.self) == $0 }) ?? true
        {
            return
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestKitError("\(url) did not answer within \(timeout)")
}

/// A TCP port below the ephemeral range (32768+), where client sockets could collide, that nothing listens on now.
public func freeLoopbackPort() -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound == 0 { return port }
    }
    return 29_999
}
