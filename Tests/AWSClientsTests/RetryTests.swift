import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Synchronization
import Testing

/// The retry loop against a fault-injecting HTTP server on loopback. Serialized: the timeout test measures wall
/// time, and eight Python servers starting at once on a 2-core machine delay timers by seconds.
@Suite("Retries against a fault-injecting server", .serialized)
struct RetryTests {
    static let emptyExecutions: [String: any Sendable] = ["body": ["json": ["executions": [] as [String]]]]
    static let throttle: [String: any Sendable] = [
        "status": 400, "times": 2, "headers": ["X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"],
        "body": ["json": ["__type": "com.amazonaws.swf.base.model#ThrottlingException", "message": "Rate exceeded"]],
    ]

    /// An SFN client pointed at `server`, with `attempts` attempts, recorded sleeps and a fixed jitter of 0.5.
    func client(
        _ server: ScriptedServer,
        attempts: Int = 3,
        timeout: Duration = .seconds(5),
        sleeps: SleepRecorder = SleepRecorder(),
        now: @escaping @Sendable () -> Timestamp = { Timestamp.systemNow() }
    ) async throws -> SFNClient {
        let environment = isolatedEnvironment(
            [
                "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ],
            home: try temporaryHome()
        )
        return try await Clients(
            environment: environment,
            context: testContext(maxAttempts: attempts, attemptTimeout: timeout, sleeps: sleeps, now: now)
        ).sfn
    }

    @Test("throttling is retried with full-jitter backoff and succeeds on the third attempt")
    func throttlingRetried() async throws {
        let server = try await ScriptedServer.start(rules: [Self.throttle, Self.emptyExecutions])
        defer { server.stop() }
        let sleeps = SleepRecorder()
        let sfn = try await client(server, sleeps: sleeps)
        let pages = try await sfn.listExecutions(.stateMachine("arn:aws:states:us-east-1:1:stateMachine:x")).collect()
        #expect(pages.count == 1)
        #expect(try server.requests().count == 3)
        // random 0.5 × 2^(retry-1): 0.5 s then 1 s.
        #expect(sleeps.recorded == [.milliseconds(500), .seconds(1)])
    }

    @Test("503s exhaust the attempts and end as a typed error with status, code and attempt count")
    func serverErrorsExhausted() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["status": 503, "body": "<html>Service Unavailable</html>"]
        ])
        defer { server.stop() }
        let sfn = try await client(server)
        let error = try await #require(throws: AWSError.self) { try await sfn.describeExecution("arn:x") }
        #expect(error.statusCode == 503)
        #expect(error.attempts == 3)
        #expect(error.code == nil)
        #expect(error.message == "unparsable error response")
        #expect(error.debugDescription.contains("Service Unavailable"))
        #expect(try server.requests().count == 3)
    }

    @Test("a reset connection is retried for an idempotent call, not for a non-idempotent one")
    func resetConnection() async throws {
        let server = try await ScriptedServer.start(rules: [["reset": true, "times": 1], Self.emptyExecutions])
        defer { server.stop() }
        let sfn = try await client(server)
        _ = try await sfn.listExecutions(.stateMachine("arn:x")).collect()
        #expect(try server.requests().count == 2)

        let once = try await ScriptedServer.start(rules: [["reset": true, "times": 1], Self.emptyExecutions])
        defer { once.stop() }
        let raw = try await client(once).client
        let error = try await #require(throws: AWSError.self) {
            let _: SFN.ListExecutionsOutput = try await raw.callJSON(
                "ListExecutions",
                ["maxResults": 1],
                idempotent: false
            )
        }
        #expect(error.kind == .transport)
        #expect(try once.requests().count == 1)
        // Throttling is retried even for a non-idempotent call: the service did nothing.
        let throttled = try await ScriptedServer.start(rules: [Self.throttle, Self.emptyExecutions])
        defer { throttled.stop() }
        let _: SFN.ListExecutionsOutput = try await client(throttled).client.callJSON(
            "ListExecutions",
            ["maxResults": 1],
            idempotent: false
        )
        #expect(try throttled.requests().count == 3)
    }

    @Test("slow responses time out per attempt, and the whole call stays bounded")
    func slowResponses() async throws {
        // Each answer takes 5 s; two attempts of 0.4 s must give up long before one answer could arrive. (The bound
        // is loose because other suites may hold the 2-core test machine's threads.)
        let server = try await ScriptedServer.start(rules: [
            ["delay": 5, "body": ["json": ["executions": [] as [String]]]]
        ])
        defer { server.stop() }
        let sfn = try await client(server, attempts: 2, timeout: .milliseconds(400))
        let start = ContinuousClock.now
        let error = try await #require(throws: AWSError.self) { try await sfn.describeExecution("arn:x") }
        #expect(error.kind == .transport)
        #expect(error.message.hasPrefix("timeout"))
        #expect(error.attempts == 2)
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test("truncated and malformed bodies end as typed errors, not crashes")
    func badBodies() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["truncate": true, "times": 3, "body": ["json": ["executions": [["executionArn": "a"]]]]],
            ["body": "{\"executions\": [{\"executionArn\": 5}]}", "times": 1],
            ["body": "not json at all", "times": 1],
        ])
        defer { server.stop() }
        let sfn = try await client(server)
        let truncated = try await #require(throws: AWSError.self) {
            try await sfn.listExecutions(.stateMachine("x")).collect()
        }
        #expect(truncated.kind == .transport, "\(truncated)")
        let wrongType = try await #require(throws: AWSError.self) {
            try await sfn.listExecutions(.stateMachine("x")).collect()
        }
        #expect(wrongType.kind == .malformedResponse)
        #expect(wrongType.message.contains("executions.[0].executionArn") || wrongType.message.contains("executions"))
        let notJSON = try await #require(throws: AWSError.self) {
            try await sfn.listExecutions(.stateMachine("x")).collect()
        }
        #expect(notJSON.kind == .malformedResponse)
    }

    @Test("error codes come from X-Amzn-ErrorType or __type, with or without a namespace; request ids are kept")
    func errorDecoding() async throws {
        // Each rule answers only DescribeExecution: a stray request from another test's client (to a port this
        // server took over) must not use up a rule (it did once, in a full run).
        let server = try await ScriptedServer.start(rules: [
            [
                "target": "DescribeExecution", "status": 400, "times": 1, "headers": ["x-amzn-RequestId": "req-42"],
                "body": [
                    "json": [
                        "__type": "com.amazonaws.emr.v20090331#InvalidRequestException",
                        "Message": "Cluster id 'j-X' is not valid.",
                    ]
                ],
            ],
            [
                "target": "DescribeExecution", "status": 400, "times": 1,
                "headers": ["X-Amzn-ErrorType": "ExecutionDoesNotExist"],
                "body": ["json": ["message": "nope"]],
            ],
            [
                "target": "DescribeExecution", "status": 403, "times": 1,
                "body":
                    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not &lt;allowed&gt;</Message></Error><RequestId>r-9</RequestId></ErrorResponse>",
            ],
        ])
        defer { server.stop() }
        let sfn = try await client(server, attempts: 1)
        let first = try await #require(throws: AWSError.self) { try await sfn.describeExecution("x") }
        #expect(first.code == "InvalidRequestException")
        #expect(first.message == "Cluster id 'j-X' is not valid.")
        #expect(first.requestID == "req-42")
        let second = try await #require(throws: AWSError.self) { try await sfn.describeExecution("x") }
        #expect(second.code == "ExecutionDoesNotExist")
        let third = try await #require(throws: AWSError.self) { try await sfn.describeExecution("x") }
        #expect(third.code == "AccessDenied")
        #expect(third.message == "not <allowed>")
        #expect(third.requestID == "r-9")
    }

    @Test("a clock-skew error adopts the server's Date and signs the retry with the corrected time")
    func clockSkew() async throws {
        // Our clock is 2 hours behind the server's Date header.
        let serverNow = Timestamp.systemNow()
        let skewed = Timestamp(millisecondsSinceEpoch: serverNow.millisecondsSinceEpoch - 2 * 3600 * 1000)
        let server = try await ScriptedServer.start(rules: [
            [
                "status": 400, "times": 1,
                "body": ["json": ["__type": "InvalidSignatureException", "message": "Signature expired"]],
            ],
            [
                "body": [
                    "json": ["executionArn": "a", "stateMachineArn": "s", "status": "RUNNING", "startDate": 1.0]
                        as [String: any Sendable]
                ]
            ],
        ])
        defer { server.stop() }
        let sfn = try await client(server, now: { skewed })
        _ = try await sfn.describeExecution("x")
        let dates = try server.requests().compactMap { $0.headers["X-Amz-Date"] }
        #expect(dates.count == 2)
        #expect(dates[0].hasPrefix(SigV4Signer.amzDate(skewed).prefix(11)))
        // The retry's date is within a minute of the server's clock.
        let corrected = try #require(timestamp(amzDate: dates[1]))
        #expect(abs(corrected.millisecondsSinceEpoch - serverNow.millisecondsSinceEpoch) < 60_000)
    }

    @Test("a throttling answer pauses the region: the retry and the next call of another operation wait")
    func throttlingPausesRegion() async throws {
        let server = try await ScriptedServer.start(rules: [
            [
                "status": 400, "times": 1,
                "headers": ["X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"],
                "body": ["json": ["__type": "ThrottlingException", "message": "Rate exceeded"]],
            ],
            ["target": "ListExecutions", "body": ["json": ["executions": [] as [String]]]],
            [
                "body": [
                    "json": [
                        "executionArn": "arn:aws:states:us-east-1:1:execution:x:y", "status": "RUNNING",
                        "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x", "startDate": 1.7e9,
                    ] as [String: any Sendable]
                ] as [String: any Sendable]
            ],
        ])
        defer { server.stop() }
        let sleeps = SleepRecorder()
        let environment = isolatedEnvironment(
            [
                "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ],
            home: try temporaryHome()
        )
        var context = testContext(maxAttempts: 3, sleeps: sleeps)
        // The limiter's clock stands still (the recorded sleeps do not pass time): the waits are exact, however slow
        // the machine is between the calls.
        let limiter = RateLimiter(clock: { 1_000 })
        context.rateLimiter = limiter
        let sfn = try await Clients(environment: environment, context: context).sfn
        _ = try await sfn.listExecutions(.stateMachine("arn:aws:states:us-east-1:1:stateMachine:x")).collect()
        _ = try await sfn.describeExecution("arn:aws:states:us-east-1:1:execution:x:y")
        let waits = sleeps.recorded.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        // The retry's backoff (0.5 s), then the region's pause (1 s from the throttling answer) before the retry and
        // before DescribeExecution.
        #expect(waits == [0.5, 1.0, 1.0], "\(waits)")
        #expect(limiter.totals.throttles == 1)
        #expect(try server.requests().count == 3)
    }

    @Test("the retry quota: retries stop when it is spent, and successes refill it")
    func quota() {
        var configuration = RetryStrategy.Configuration()
        configuration.quotaCapacity = 12
        configuration.maxAttempts = 10
        let strategy = RetryStrategy(configuration: configuration)
        #expect(strategy.retry(after: 1, decision: .throttled, idempotent: true, isTimeout: false, random: 0.5) != nil)
        #expect(strategy.retry(after: 2, decision: .throttled, idempotent: true, isTimeout: false, random: 0.5) != nil)
        #expect(strategy.availableQuota == 2)
        #expect(strategy.retry(after: 3, decision: .throttled, idempotent: true, isTimeout: false, random: 0.5) == nil)
        strategy.recordSuccess(retryCost: 10)
        #expect(strategy.availableQuota == 12)
        #expect(
            strategy.retry(after: 1, decision: .transient, idempotent: true, isTimeout: true, random: 0.5)?.cost == 10
        )
        #expect(strategy.retry(after: 1, decision: .fatal, idempotent: true, isTimeout: false, random: 0.5) == nil)
        #expect(strategy.retry(after: 1, decision: .transient, idempotent: false, isTimeout: false, random: 0.5) == nil)
        // Backoff: full jitter, doubling, capped at 20 s.
        #expect(RetryStrategy.backoff(retry: 1, random: 1, cap: .seconds(20)) == .seconds(1))
        #expect(RetryStrategy.backoff(retry: 4, random: 1, cap: .seconds(20)) == .seconds(8))
        #expect(RetryStrategy.backoff(retry: 9, random: 1, cap: .seconds(20)) == .seconds(20))
        #expect(RetryStrategy.backoff(retry: 3, random: 0, cap: .seconds(20)) == .zero)
    }
}

/// `20261124T203946Z` → a timestamp.
func timestamp(amzDate text: String) -> Timestamp? {
    let c = Array(text)
    guard c.count == 16 else { return nil }
    let iso =
        "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[9..<11])):\(String(c[11..<13])):\(String(c[13..<15]))Z"
    return Timestamp(iso8601: iso)
}

/// The rate limiter with an injected clock: buckets at a share of AWS's, waits instead of bursts, and a region-wide
/// pause after throttling.
@Suite("Rate limiter")
struct RateLimiterTests {
    final class FakeClock: Sendable {
        private let value = Mutex<Double>(0)
        var now: Double { value.withLock { $0 } }
        func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("a share of each bucket: the burst goes at once, then one call per refill interval")
    func shareOfBucket() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now })  // share 0.5: ListExecutions in us-east-1 is 200/5 → 100/2.5
        #expect(
            limiter.effectiveQuota(service: "states", operation: "ListExecutions", region: "us-east-1")
                == RateQuota(burst: 100, perSecond: 2.5)
        )
        #expect(
            limiter.effectiveQuota(service: "states", operation: "ListExecutions", region: "ap-south-1")
                == RateQuota(burst: 50, perSecond: 1)
        )
        for _ in 0..<100 {
            #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") == .zero)
        }
        // The 101st waits for one token (0.4 s), the 102nd for two (0.8 s): reservations queue.
        #expect(
            abs(seconds(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1")) - 0.4)
                < 1e-6
        )
        #expect(
            abs(seconds(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1")) - 0.8)
                < 1e-6
        )
        // Other operations and regions have buckets of their own.
        #expect(limiter.reserve(service: "states", operation: "DescribeExecution", region: "us-east-1") == .zero)
        #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "eu-west-1") == .zero)
        // Time refills the bucket, never above its burst.
        clock.advance(3600)
        for _ in 0..<100 {
            #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") == .zero)
        }
        #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") > .zero)
    }

    @Test("configured quotas replace AWS's defaults; disabled means no waiting")
    func configured() {
        var configuration = RateLimitConfiguration()
        configuration.share = 1
        configuration.quotas = [
            "elasticmapreduce:*": RateQuota(burst: 2, perSecond: 0.5),
            "elasticmapreduce:ListClusters": RateQuota(burst: 1, perSecond: 1),
        ]
        let clock = FakeClock()
        let limiter = RateLimiter(configuration: configuration, clock: { clock.now })
        #expect(
            limiter.effectiveQuota(service: "elasticmapreduce", operation: "DescribeCluster", region: "us-east-1")
                == RateQuota(burst: 2, perSecond: 0.5)
        )
        #expect(limiter.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "us-east-1") == .zero)
        #expect(
            limiter.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "us-east-1") == .seconds(1)
        )
        configuration.enabled = false
        let off = RateLimiter(configuration: configuration, clock: { clock.now })
        for _ in 0..<10 {
            #expect(off.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "us-east-1") == .zero)
        }
    }

    @Test("throttling pauses every operation of the region, longer each time, until a success")
    func regionPause() {
        var configuration = RateLimitConfiguration()
        configuration.maxPause = .seconds(4)
        let clock = FakeClock()
        let limiter = RateLimiter(configuration: configuration, clock: { clock.now })
        limiter.recordThrottle(region: "us-east-1")
        #expect(
            limiter.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "us-east-1") == .seconds(1)
        )
        #expect(
            limiter.reserve(service: "states", operation: "GetExecutionHistory", region: "us-east-1") == .seconds(1)
        )
        #expect(limiter.reserve(service: "states", operation: "GetExecutionHistory", region: "eu-west-1") == .zero)
        clock.advance(1)
        limiter.recordThrottle(region: "us-east-1")
        #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") == .seconds(2))
        clock.advance(2)
        limiter.recordThrottle(region: "us-east-1")
        clock.advance(4)
        limiter.recordThrottle(region: "us-east-1")  // capped at max_pause
        #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") == .seconds(4))
        limiter.recordSuccess(region: "us-east-1")
        clock.advance(4)
        limiter.recordThrottle(region: "us-east-1")
        #expect(limiter.reserve(service: "states", operation: "ListExecutions", region: "us-east-1") == .seconds(1))
        #expect(limiter.totals.throttles == 5)
    }
}
