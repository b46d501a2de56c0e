import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Synchronization
import Testing

@Suite("Credential sources against loopback servers")
struct CredentialSourceTests {
    static let document: [String: any Sendable] = [
        "Code": "Success", "AccessKeyId": "ASIAIMDSKEY000000000", "SecretAccessKey": "imdsSECRETimdsSECRET",
        "Token": "imds-session-token", "Expiration": "2031-01-01T00:00:00Z",
    ]

    @Test("IMDSv2: token PUT first, then role and credentials with the token; region from placement")
    func imdsV2() async throws {
        let server = try await ScriptedServer.start(rules: [
            [
                "method": "PUT", "path": "/latest/api/token",
                "require_header": ["X-aws-ec2-metadata-token-ttl-seconds", "21600"], "body": "TKN-1",
            ],
            [
                "method": "GET", "path": "/latest/meta-data/iam/security-credentials/",
                "require_header": ["X-aws-ec2-metadata-token", "TKN-1"], "body": "guard-instance-role\n",
            ],
            [
                "method": "GET", "path": "/latest/meta-data/iam/security-credentials/guard-instance-role",
                "require_header": ["X-aws-ec2-metadata-token", "TKN-1"], "body": ["json": Self.document],
            ],
            [
                "method": "GET", "path": "/latest/meta-data/placement/region",
                "require_header": ["X-aws-ec2-metadata-token", "TKN-1"], "body": "eu-west-1",
            ],
        ])
        defer { server.stop() }
        // The SDKs' 1 s timeout stays the default; a loaded test machine may answer slower than that.
        let environment = [
            "HOME": try temporaryHome(), "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url,
            "AWS_METADATA_SERVICE_TIMEOUT": "20",
        ]
        let settings = try await AWSSettings.resolve(environment: environment, transport: AsyncHTTPClientTransport())
        #expect(settings.region == "eu-west-1")
        #expect(settings.regionSource == "EC2 instance metadata")
        let chain = try settings.credentialChain(context: testContext())
        let credentials = try await chain.credentials()
        #expect(credentials.accessKeyID == "ASIAIMDSKEY000000000")
        #expect(credentials.sessionToken == "imds-session-token")
        #expect(credentials.expiration == Timestamp(iso8601: "2031-01-01T00:00:00Z"))
        #expect(await chain.sourceName == "EC2 instance metadata (IMDSv2)")
        let requests = try server.requests()
        #expect(requests.allSatisfy { $0.rule != nil }, "a request matched no rule or lacked its token")
        let credentialRequests = requests.filter { $0.path.contains("security-credentials") }
        #expect(credentialRequests.count == 2)
        #expect(
            requests.firstIndex { $0.method == "PUT" }! < requests.firstIndex {
                $0.path.contains("security-credentials")
            }!
        )
    }

    @Test("IMDS: disabled, or nothing listening, means 'not configured' and a chain error that lists every source")
    func imdsAbsent() async throws {
        let home = try temporaryHome()
        let disabled = try await AWSSettings.resolve(
            environment: ["HOME": home, "AWS_EC2_METADATA_DISABLED": "true"],
            region: "us-east-1",
            transport: AsyncHTTPClientTransport()
        )
        let error = try await #require(throws: AWSError.self) {
            try await disabled.credentialChain(context: testContext()).credentials()
        }
        #expect(error.kind == .credentials)
        for source in [
            "environment", "web identity", "profile default", "container credentials", "EC2 instance metadata",
        ] {
            #expect(error.message.contains(source), "\(source) missing from: \(error.message)")
        }
        #expect(error.message.contains("disabled by AWS_EC2_METADATA_DISABLED"))
        // A closed loopback port: connection refused within the short IMDS timeout.
        let closed = try await AWSSettings.resolve(
            environment: ["HOME": home, "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(freeLoopbackPort())"],
            region: "us-east-1",
            transport: AsyncHTTPClientTransport()
        )
        let refused = try await #require(throws: AWSError.self) {
            try await closed.credentialChain(context: testContext()).credentials()
        }
        // Refused at once (a connect failure), not a timeout: the message says which. (A wall-clock bound here was
        // flaky on a loaded 2-core machine; the reason is what proves no timeout was waited for.)
        #expect(refused.message.contains("no instance metadata service at http://127.0.0.1:"))
        #expect(refused.message.contains("(connect)"), "\(refused.message)")
        #expect(!refused.message.contains("timeout"), "\(refused.message)")
        // Without a region, the error says what the metadata service did: nothing listening, or too slow.
        let noRegion = try await #require(throws: AWSError.self) {
            try await AWSSettings.resolve(environment: closed.environment, transport: AsyncHTTPClientTransport())
        }
        #expect(
            noRegion.message.contains(
                "no AWS region is set (EC2 instance metadata: no instance metadata service at http://127.0.0.1:"
            )
        )
        let slow = try await ScriptedServer.start(rules: [["delay": 5, "body": "TKN"]])
        defer { slow.stop() }
        let late = try await #require(throws: AWSError.self) {
            try await AWSSettings.resolve(
                environment: [
                    "HOME": home, "AWS_EC2_METADATA_SERVICE_ENDPOINT": slow.url, "AWS_METADATA_SERVICE_TIMEOUT": "0.3",
                ],
                transport: AsyncHTTPClientTransport()
            )
        }
        #expect(
            late.message.contains("no answer from \(slow.url) within 300 ms (raise AWS_METADATA_SERVICE_TIMEOUT"),
            "\(late.message)"
        )
    }

    @Test("container credentials: full URI on loopback with the authorization token from a file")
    func container() async throws {
        let server = try await ScriptedServer.start(rules: [
            [
                "method": "GET", "path": "/v2/credentials/abc",
                "require_header": ["Authorization", "Bearer pod-token"], "body": ["json": Self.document],
            ]
        ])
        defer { server.stop() }
        let home = try temporaryHome()
        try "Bearer pod-token\n".write(toFile: home + "/token", atomically: true, encoding: .utf8)
        let environment = [
            "HOME": home, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/v2/credentials/abc",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": home + "/token",
        ]
        let settings = try await AWSSettings.resolve(
            environment: environment,
            region: "us-east-1",
            transport: AsyncHTTPClientTransport()
        )
        let chain = try settings.credentialChain(context: testContext())
        #expect(try await chain.credentials().accessKeyID == "ASIAIMDSKEY000000000")
        #expect(await chain.sourceName == "container credentials")
        #expect(try server.requests().first?.headers["Authorization"] == "Bearer pod-token")
        // A full URI that is neither HTTPS nor loopback is refused before any request.
        var remote = environment
        remote["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://10.1.2.3/creds"
        let refused = try await #require(throws: AWSError.self) {
            try await ContainerCredentialSource(environment: remote, transport: AsyncHTTPClientTransport()).load(
                now: testNow
            )
        }
        #expect(refused.message.contains("must be HTTPS or a loopback"))
    }

    @Test("temporary credentials are cached, refreshed 5 minutes before expiry, once for 50 concurrent callers")
    func refresh() async throws {
        let clock = ManualClock(start: testNow)
        let source = CountingSource(clock: clock, lifetime: .seconds(15 * 60))
        let chain = CredentialChain(sources: [source], now: { clock.now })
        let first = try await chain.credentials()
        #expect(source.count == 1)
        clock.advance(.seconds(9 * 60))  // 6 minutes left: still good
        #expect(try await chain.credentials() == first)
        #expect(source.count == 1)
        clock.advance(.seconds(2 * 60))  // 4 minutes left: refresh, once, whatever the number of callers
        let results = try await withThrowingTaskGroup(of: AWSCredentials.self) { group in
            for _ in 0..<50 { group.addTask { try await chain.credentials() } }
            return try await group.reduce(into: [AWSCredentials]()) { $0.append($1) }
        }
        #expect(source.count == 2)
        #expect(Set(results.map(\.accessKeyID)) == ["ASIA-REFRESH-2"])
        // A failing refresh while the old credentials still work keeps them; after expiry it is an error.
        source.failing = true
        clock.advance(.seconds(12 * 60))  // 3 minutes left of refresh 2
        #expect(try await chain.credentials().accessKeyID == "ASIA-REFRESH-2")
        clock.advance(.seconds(4 * 60))
        await #expect(throws: AWSError.self) { try await chain.credentials() }
    }

    @Test("environment: both keys or neither; a session token travels along; the secret is redacted")
    func environmentSource() async throws {
        let partial = EnvironmentCredentialSource(environment: ["AWS_ACCESS_KEY_ID": "AKIA1"])
        let error = try await #require(throws: AWSError.self) { try await partial.load(now: testNow) }
        #expect(error.message.contains("AWS_SECRET_ACCESS_KEY is not"))
        let full = EnvironmentCredentialSource(environment: [
            "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "topSECRETvalue", "AWS_SESSION_TOKEN": "tok",
        ])
        guard case .loaded(let credentials) = try await full.load(now: testNow) else {
            Issue.record("not loaded")
            return
        }
        #expect(credentials.sessionToken == "tok")
        #expect(!"\(credentials)".contains("topSECRETvalue") && !String(reflecting: credentials).contains("tok,"))
        #expect("\(credentials)".contains("AKIA1"))
    }
}

let testNow = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Timestamp>
    init(start: Timestamp) { current = Mutex(start) }
    var now: Timestamp { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 = $0.adding(duration) } }
}

/// A source that counts its loads and hands out credentials that expire `lifetime` after the load.
final class CountingSource: CredentialSource, Sendable {
    let clock: ManualClock
    let lifetime: Duration
    private let loads = Mutex(0)
    private let failFlag = Mutex(false)
    init(clock: ManualClock, lifetime: Duration) {
        self.clock = clock
        self.lifetime = lifetime
    }
    var name: String { "counting" }
    var count: Int { loads.withLock { $0 } }
    var failing: Bool {
        get { failFlag.withLock { $0 } }
        set { failFlag.withLock { $0 = newValue } }
    }
    func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        if failing {
            throw AWSError.init(kind: .credentials, service: "credentials", operation: "counting", message: "down")
        }
        let n = loads.withLock { value -> Int in
            value += 1
            return value
        }
        try? await Task.sleep(for: .milliseconds(100))
        return .loaded(
            AWSCredentials(
                accessKeyID: n == 1 ? "ASIA-FIRST" : "ASIA-REFRESH-\(n)",
                secretAccessKey: "s",
                sessionToken: "t",
                expiration: clock.now.adding(lifetime)
            )
        )
    }
}
