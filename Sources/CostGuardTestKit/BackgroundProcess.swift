public import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A child process that runs while a test needs it and is killed when the test lets go of it.
public final class BackgroundProcess: @unchecked Sendable {
    public let process: Process
    private let output: Pipe

    /// Starts `executable` and waits (up to `timeout`) for a line on its standard output that starts with
    /// `readyPrefix`; with `readyPrefix` nil, returns as soon as it started.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, readyPrefix: String? = nil,
        timeout: Duration = .seconds(30)
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard let readyPrefix else { return }
        let deadline = ContinuousClock.now + timeout
        var buffer = ""
        while ContinuousClock.now < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                guard process.isRunning else { break }
                continue
            }
            buffer += String(decoding: data, as: UTF8.self)
            if buffer.split(separator: "\n").contains(where: { $0.hasPrefix(readyPrefix) }) { return }
        }
        stop()
        throw TestKitError("\(executable) did not print '\(readyPrefix)' (got: \(buffer.prefix(500)))")
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

/// A failure of the test infrastructure itself.
public struct TestKitError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Waits until `url` answers an HTTP GET, or throws after `timeout`.
public func waitForHTTP(_ url: String, timeout: Duration = .seconds(30)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let target = URL(string: url),
            (try? await URLSession.shared.data(from: target)) != nil
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    return 29_999
}
