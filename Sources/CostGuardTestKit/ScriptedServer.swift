import Foundation

/// `Tests/Emulator/scripted_server.py`: an HTTP server on 127.0.0.1 that answers by a script of rules, for the
/// IMDS and container credential tests and for fault injection.
public final class ScriptedServer: Sendable {
    public let port: Int
    public let url: String
    private let logPath: String
    private let server: BackgroundProcess

    /// With TLS: the PEM file of the CA that signed the server's certificate (for localhost and 127.0.0.1).
    public let caBundle: String?

    private init(port: Int, logPath: String, server: BackgroundProcess, caBundle: String?) {
        self.port = port
        self.caBundle = caBundle
        self.url = "\(caBundle == nil ? "http" : "https")://127.0.0.1:\(port)"
        self.logPath = logPath
        self.server = server
    }

    /// Starts the server with `rules` (see the script's documentation for their keys).
    /// With `tls`, it answers HTTPS with a certificate signed by a CA made for the run (`caBundle`).
    public static func start(rules: [[String: any Sendable]], tls: Bool = false) async throws -> ScriptedServer {
        let directory = try TestPaths.temporaryDirectory()
        let scriptPath = directory + "/rules.json"
        let logPath = directory + "/requests.jsonl"
        _ = FileManager.default.createFile(atPath: logPath, contents: Data())
        try JSONSerialization.data(withJSONObject: rules).write(to: URL(fileURLWithPath: scriptPath))
        var started: (Int, BackgroundProcess)?
        for _ in 0..<5 {
            let port = freeLoopbackPort()
            if let process = try? await BackgroundProcess.start(
                TestPaths.python,
                [
                    TestPaths.emulatorScript("scripted_server.py"), "--port", "\(port)", "--script", scriptPath,
                    "--log", logPath,
                ]
                    + (tls ? ["--tls", directory] : []),
                readyPrefix: "ready",
                timeout: .seconds(10)
            ) {
                started = (port, process)
                break
            }
        }
        guard let (port, process) = started else { throw TestKitError("the scripted server did not start") }
        return ScriptedServer(
            port: port,
            logPath: logPath,
            server: process,
            caBundle: tls ? directory + "/ca.pem" : nil
        )
    }

    /// One logged request.
    public struct LoggedRequest: Decodable, Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
        public var rule: Int?
        /// The client's port: one per connection.
        public var peer: Int?
    }

    /// Every request received so far, in order.
    public func requests() throws -> [LoggedRequest] {
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(LoggedRequest.self, from: Data($0.utf8)) }
    }

    public func stop() { server.stop() }
}
