import AWSClients
import AWSSigV4
import CostGuardCore
import Logging
import Synchronization
import Testing

/// Each piece of the call chain alone, against a closure standing for the rest of the chain or the transport.
@Suite("AWS call middlewares")
struct MiddlewareTests {
    static let call = AWSCall(
        service: "states",
        operation: "ListExecutions",
        region: "us-east-1",
        url: "http://127.0.0.1:1/",
        headers: [("Host", "127.0.0.1:1"), ("Content-Type", "application/x-amz-json-1.0")],
        body: Array("{}".utf8)
    )
    static let throttled = AWSAttemptError.service(
        AWSError(
            kind: .service,
            service: "states",
            operation: "ListExecutions",
            code: "ThrottlingException",
            message: "slow down"
        ),
        HTTPResponse(status: 400)
    )
    static let serverError = AWSAttemptError.service(
        AWSError(
            kind: .service,
            service: "states",
            operation: "ListExecutions",
            code: "InternalFailure",
            message: "oops"
        ),
        HTTPResponse(status: 500)
    )

    /// A transport answering from a closure, counting its requests.
    final class ClosureTransport: HTTPTransport, Sendable {
        let answer: @Sendable (HTTPRequest) throws -> HTTPResponse
        private let seen = Mutex<[HTTPRequest]>([])
        var requests: [HTTPRequest] { seen.withLock { $0 } }
        init(_ answer: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) { self.answer = answer }
        func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
            seen.withLock { $0.append(request) }
            return try answer(request)
        }
    }

    /// The rest of the chain as a script of answers, one per attempt; records the calls it was handed.
    final class Script: Sendable {
        private let state: Mutex<(answers: [Result<HTTPResponse, AWSAttemptError>], calls: [AWSCall])>
        init(_ answers: [Result<HTTPResponse, AWSAttemptError>]) { state = Mutex((answers, [])) }
        var calls: [AWSCall] { state.withLock { $0.calls } }
        var next: AWSHandler {
            { (call: AWSCall) async throws(AWSAttemptError) -> HTTPResponse in
                let answer = self.state.withLock { state in
                    state.calls.append(call)
                    return state.answers.removeFirst()
                }
                return try answer.get()
            }
        }
    }

    final class Records: Sendable {
        private let list = Mutex<[AWSCallRecord]>([])
        var all: [AWSCallRecord] { list.withLock { $0 } }
        func append(_ record: AWSCallRecord) { list.withLock { $0.append(record) } }
    }

    func retry(
        attempts: Int = 3,
        sleeps: SleepRecorder,
        records: Records = Records(),
        skew: ClockSkew = ClockSkew(),
        now: Timestamp = Timestamp(secondsSinceEpoch: 1_700_000_000)
    ) -> RetryMiddleware {
        var configuration = RetryStrategy.Configuration()
        configuration.maxAttempts = attempts
        return RetryMiddleware(
            strategy: RetryStrategy(configuration: configuration),
            clockSkew: skew,
            now: { now },
            sleep: { sleeps.record($0) },
            random: { 0.5 },
            observer: { records.append($0) },
            logger: Logger(label: "test")
        )
    }

    @Test("transport: a 2xx answer passes, an error answer is decoded, a failed exchange stays a transport error")
    func transport() async throws {
        let ok = TransportHandler(
            transport: ClosureTransport { _ in HTTPResponse(status: 200, body: Array("{}".utf8)) },
            timeout: .seconds(1)
        )
        #expect(try await ok.send(Self.call).status == 200)
        let refused = TransportHandler(
            transport: ClosureTransport { _ in
                HTTPResponse(
                    status: 400,
                    headers: [("x-amzn-RequestId", "req-1")],
                    body: Array(#"{"__type":"com.amazonaws.swf#AccessDeniedException","message":"no"}"#.utf8)
                )
            },
            timeout: .seconds(1)
        )
        await #expect {
            _ = try await refused.send(Self.call)
        } throws: { error in
            guard case .service(let failure, let response) = error as? AWSAttemptError else { return false }
            return failure.code == "AccessDeniedException" && failure.message == "no" && failure.requestID == "req-1"
                && response.status == 400
        }
        let broken = TransportHandler(
            transport: ClosureTransport { _ in throw TransportError(.connectionLost, "reset") },
            timeout: .seconds(1)
        )
        await #expect {
            _ = try await broken.send(Self.call)
        } throws: { error in
            guard case .transport(let failure) = error as? AWSAttemptError else { return false }
            return failure.reason == .connectionLost
        }
    }

    @Test("retry: throttling twice then success is three attempts, two backoffs, one record")
    func retryThrottling() async throws {
        let sleeps = SleepRecorder()
        let records = Records()
        let script = Script([.failure(Self.throttled), .failure(Self.throttled), .success(HTTPResponse(status: 200))])
        let response = try await retry(sleeps: sleeps, records: records).handle(Self.call, next: script.next)
        #expect(response.status == 200)
        #expect(script.calls.map(\.attempt) == [1, 2, 3])
        // Full jitter at 0.5 of 1 s then 2 s (AWS's standard mode).
        #expect(sleeps.recorded == [.milliseconds(500), .seconds(1)])
        #expect(records.all.map(\.outcome) == ["ok"])
        #expect(records.all.first?.attempts == 3 && records.all.first?.throttles == 2)
    }

    @Test("retry: a non-idempotent call is not retried after a lost connection; attempts end in a final error")
    func retryLimits() async throws {
        let sleeps = SleepRecorder()
        let lost = AWSAttemptError.transport(TransportError(.connectionLost, "reset"))
        var call = Self.call
        call.idempotent = false
        let once = Script([.failure(lost)])
        await #expect {
            _ = try await retry(sleeps: sleeps).handle(call, next: once.next)
        } throws: { error in
            guard case .final(let failure) = error as? AWSAttemptError else { return false }
            return failure.kind == .transport && failure.attempts == 1
        }
        #expect(once.calls.count == 1)
        let records = Records()
        let errors = Script([.failure(Self.serverError), .failure(Self.serverError)])
        await #expect {
            _ = try await retry(attempts: 2, sleeps: sleeps, records: records).handle(Self.call, next: errors.next)
        } throws: { error in
            guard case .final(let failure) = error as? AWSAttemptError else { return false }
            return failure.code == "InternalFailure" && failure.attempts == 2
        }
        #expect(records.all.map(\.outcome) == ["error"])
        #expect(sleeps.recorded.count == 1)
        // A final error from inside (credentials) is not retried.
        let credentials = Script([
            .failure(.final(AWSError(kind: .credentials, service: "credentials", operation: "env", message: "none")))
        ])
        await #expect(throws: AWSAttemptError.self) {
            _ = try await retry(sleeps: sleeps).handle(Self.call, next: credentials.next)
        }
        #expect(credentials.calls.count == 1)
    }

    @Test("retry: a clock-skew error adopts the server's offset once and retries without backoff")
    func retryClockSkew() async throws {
        let sleeps = SleepRecorder()
        let skew = ClockSkew()
        let now = Timestamp(secondsSinceEpoch: 1_700_000_000)
        // AWS's clock is ten minutes ahead.
        let serverDate = "Tue, 14 Nov 2023 22:23:20 GMT"
        let skewed = AWSAttemptError.service(
            AWSError(
                kind: .service,
                service: "states",
                operation: "ListExecutions",
                code: "InvalidSignatureException",
                message: "skewed"
            ),
            HTTPResponse(status: 400, headers: [("Date", serverDate)])
        )
        let script = Script([.failure(skewed), .success(HTTPResponse(status: 200))])
        _ = try await retry(sleeps: sleeps, skew: skew, now: now).handle(Self.call, next: script.next)
        #expect(skew.milliseconds == 600_000)
        #expect(sleeps.recorded.isEmpty)
        #expect(script.calls.count == 2)
        // A second skew error in the same call is not corrected again.
        let twice = Script([.failure(skewed), .failure(skewed), .failure(skewed)])
        await #expect(throws: AWSAttemptError.self) {
            _ = try await retry(attempts: 2, sleeps: sleeps, skew: ClockSkew(), now: now).handle(
                Self.call,
                next: twice.next
            )
        }
        #expect(twice.calls.count == 2)
    }

    @Test("rate limit: waits for a token before the attempt; throttling pauses the region, success resumes it")
    func rateLimit() async throws {
        var configuration = RateLimitConfiguration()
        configuration.share = 1
        configuration.quotas = ["states:ListExecutions": RateQuota(burst: 1, perSecond: 2)]
        let clock = Mutex<Double>(0)
        let limiter = RateLimiter(configuration: configuration, clock: { clock.withLock { $0 } })
        let sleeps = SleepRecorder()
        let middleware = RateLimitMiddleware(
            limiter: limiter,
            sleep: { sleeps.record($0) },
            logger: Logger(label: "test")
        )
        let script = Script([.success(HTTPResponse(status: 200)), .failure(Self.throttled)])
        _ = try await middleware.handle(Self.call, next: script.next)
        #expect(sleeps.recorded.isEmpty)
        // The bucket is empty: the second attempt waits half a second for its token, then is throttled.
        await #expect(throws: AWSAttemptError.self) { _ = try await middleware.handle(Self.call, next: script.next) }
        #expect(sleeps.recorded == [.milliseconds(500)])
        // The throttle paused the whole region (another operation waits), not another region.
        #expect(limiter.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "us-east-1") > .zero)
        #expect(limiter.reserve(service: "elasticmapreduce", operation: "ListClusters", region: "eu-west-1") == .zero)
        // A cancelled wait is final.
        let cancelling = RateLimitMiddleware(
            limiter: limiter,
            sleep: { _ in throw CancellationError() },
            logger: Logger(label: "test")
        )
        await #expect {
            _ = try await cancelling.handle(Self.call, next: Script([]).next)
        } throws: { error in
            guard case .final(let failure) = error as? AWSAttemptError else { return false }
            return failure.message == "cancelled"
        }
    }

    @Test("signing: SigV4 headers at this host's time plus the learned skew; unsigned calls untouched")
    func signing() async throws {
        let skew = ClockSkew()
        let now = Timestamp(secondsSinceEpoch: 1_700_000_000)
        let credentials = StaticCredentialProvider(
            AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "token")
        )
        let signer = SigningMiddleware(credentials: credentials, now: { now }, clockSkew: skew)
        let script = Script([
            .success(HTTPResponse(status: 200)), .success(HTTPResponse(status: 200)),
            .success(HTTPResponse(status: 200)),
        ])
        _ = try await signer.handle(Self.call, next: script.next)
        skew.set(600_000)
        _ = try await signer.handle(Self.call, next: script.next)
        let dates = script.calls.map { call in call.headers.first { $0.name == "X-Amz-Date" }?.value }
        #expect(dates == [SigV4Signer.amzDate(now), "20231114T222320Z"])
        let first = script.calls[0].headers
        #expect(first.contains { $0.name == "Authorization" && $0.value.contains("Credential=AKIDEXAMPLE/20231114/") })
        #expect(first.contains { $0.name == "X-Amz-Security-Token" && $0.value == "token" })
        var unsigned = Self.call
        unsigned.signed = false
        _ = try await signer.handle(unsigned, next: script.next)
        #expect(script.calls[2].headers.count == Self.call.headers.count)
    }

    @Test("the chain: middlewares run outermost first and the terminal sees what they added")
    func chainOrder() async throws {
        struct Tag: AWSMiddleware {
            let name: String
            func handle(_ call: AWSCall, next: AWSHandler) async throws(AWSAttemptError) -> HTTPResponse {
                var call = call
                call.headers.append(("X-Order", name))
                return try await next(call)
            }
        }
        let transport = ClosureTransport { _ in HTTPResponse(status: 200) }
        let handler = ([Tag(name: "a"), Tag(name: "b")] as [any AWSMiddleware]).chain(
            to: TransportHandler(transport: transport, timeout: .seconds(1)).send
        )
        _ = try await handler(Self.call)
        #expect(transport.requests.first?.headers.filter { $0.name == "X-Order" }.map(\.value) == ["a", "b"])
    }
}
