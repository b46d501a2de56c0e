import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// moto server on 127.0.0.1 (through `Tests/Emulator/costguard_emulator.py`), for integration tests.
public final class Emulator: Sendable {
    public let port: Int
    /// `http://127.0.0.1:PORT`
    public let endpoint: String
    /// The emulation's control endpoint (redrives), `http://127.0.0.1:CONTROL`.
    public let control: String
    private let server: BackgroundProcess

    private init(port: Int, controlPort: Int, server: BackgroundProcess) {
        self.port = port
        self.endpoint = "http://127.0.0.1:\(port)"
        self.control = "http://127.0.0.1:\(controlPort)"
        self.server = server
    }

    /// Emulates a redrive: the ended execution becomes RUNNING again with the same ARN and redriveCount + 1.
    public func redrive(_ executionARN: String) async throws {
        try await post("/redrive", ["executionArn": executionARN])
    }

    /// Sets the redriveStatus DescribeExecution reports for an execution.
    public func setRedriveStatus(_ executionARN: String, _ status: String) async throws {
        try await post("/redrive-status", ["executionArn": executionARN, "redriveStatus": status])
    }

    /// Starts executions of a state machine directly in the emulator (no signed calls: not counted as a client's
    /// requests); returns their ARNs.
    public func startExecutions(
        _ stateMachineARN: String,
        names: [String],
        input: String = "{}"
    ) async throws -> [String] {
        struct Body: Encodable { var stateMachineArn: String, names: [String], input: String }
        struct Answer: Decodable { var executionArns: [String] }
        let answer = try await post(
            "/bulk-start",
            try JSONEncoder().encode(Body(stateMachineArn: stateMachineARN, names: names, input: input))
        )
        return try JSONDecoder().decode(Answer.self, from: answer).executionArns
    }

    private func post(_ path: String, _ body: [String: String]) async throws {
        _ = try await post(path, try JSONSerialization.data(withJSONObject: body))
    }

    private func post(_ path: String, _ body: Data) async throws -> Data {
        var request = URLRequest(url: URL(string: control + path)!)
        request.httpMethod = "POST"
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw TestKitError("control \(path) failed") }
        return data
    }

    /// Starts a fresh emulator on a free loopback port and waits until it answers.
    public static func start() async throws -> Emulator {
        guard FileManager.default.isExecutableFile(atPath: TestPaths.python) else {
            throw TestKitError("no .venv-test: run Deploy/dev-setup.sh (Tests/run.sh does) to install the emulator")
        }
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = freeLoopbackPort()
            var controlPort = freeLoopbackPort()
            while controlPort == port { controlPort = freeLoopbackPort() }
            // The emulator answers /costguard-emulator-id with this id: another test's emulator that took the same
            // port (both found it free) is never mistaken for this one.
            let id = "test-\(UInt64.random(in: 1...UInt64.max))"
            let process = try BackgroundProcess(
                TestPaths.python,
                [
                    TestPaths.emulatorScript("costguard_emulator.py"), "serve", "--port", "\(port)", "--control-port",
                    "\(controlPort)",
                ],
                environment: ProcessInfo.processInfo.environment.merging(["COSTGUARD_EMULATOR_ID": id]) { _, new in new
                }
            )
            do {
                try await waitForHTTP(
                    "http://127.0.0.1:\(port)/costguard-emulator-id",
                    answering: id,
                    timeout: .seconds(30)
                )
                return Emulator(port: port, controlPort: controlPort, server: process)
            } catch {
                process.stop()
                lastError = error
            }
        }
        throw lastError ?? TestKitError("the emulator did not start")
    }

    /// The users, role and seeded resources that `setup-iam` made.
    public struct IAMFixture: Decodable, Sendable {
        public struct User: Decodable, Sendable {
            public var accessKeyId: String
            public var secretAccessKey: String
            public var arn: String
        }
        public var account: String
        public var users: [String: User]
        public var roleArn: String
        public var webRoleArn: String
        public var stateMachineArn: String
        public var executionArn: String
        public var clusterId: String
    }

    /// Creates the test users (`guard`: every CostGuard action; `reader`: reads but not GetExecutionHistory, no
    /// writes), the role `guard-role`, a state machine, an execution and a cluster, then turns on signature and
    /// IAM enforcement.
    /// - Parameter seed: also create the seeded state machine, execution and cluster (default true).
    public func setUpIAM(seed: Bool = true) async throws -> IAMFixture {
        let out = try TestPaths.temporaryDirectory() + "/iam.json"
        let result = try await runToCompletion(
            TestPaths.python,
            [TestPaths.emulatorScript("costguard_emulator.py"), "setup-iam", "--endpoint", endpoint, "--out", out],
            environment: [
                "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true",
                "COSTGUARD_SETUP_NO_SEED": seed ? "0" : "1",
            ]
        )
        guard result.status == 0 else {
            throw TestKitError("setup-iam failed: \(result.stderr.suffix(2000))")
        }
        return try JSONDecoder().decode(IAMFixture.self, from: try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// Stops the server.
    public func stop() { server.stop() }
}
