import AWSSigV4
public import CostGuardCore
public import Logging

/// One AWS call on its way to the wire, as each middleware sees it.
public struct AWSCall: Sendable {
    /// The signing name (`states`, `elasticmapreduce`, `sts`).
    public var service: String
    public var operation: String
    public var region: String
    /// The endpoint's URL, with the path.
    public var url: String
    /// `Host`, `Content-Type`, `User-Agent` and the protocol's headers; the signer adds its own.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether a failure after the request may have been applied can be retried.
    public var idempotent: Bool
    /// `false` for the operations AWS serves without a signature (AssumeRoleWithWebIdentity).
    public var signed: Bool
    /// The attempt this is, from 1 (set by the retry middleware).
    public var attempt = 1

    public init(
        service: String,
        operation: String,
        region: String,
        url: String,
        headers: [(name: String, value: String)],
        body: [UInt8],
        idempotent: Bool = true,
        signed: Bool = true
    ) {
        self.service = service
        self.operation = operation
        self.region = region
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotent = idempotent
        self.signed = signed
    }
}

/// Why an attempt brought no successful answer, as the middlewares pass it outwards.
public enum AWSAttemptError: Error, Sendable {
    /// AWS answered with an error (any status outside 2xx), decoded.
    case service(AWSError, HTTPResponse)
    /// No answer: the exchange failed.
    case transport(TransportError)
    /// Nothing to retry: credentials, signing, cancellation, or the retries are over.
    case final(AWSError)

    /// The error the caller sees.
    func error(service: String, operation: String) -> AWSError {
        switch self {
        case .service(let error, _), .final(let error): return error
        case .transport(let failure):
            return AWSError(kind: .transport, service: service, operation: operation, message: failure.description)
        }
    }

    static func cancelled(_ call: AWSCall) -> AWSAttemptError {
        .final(AWSError(kind: .transport, service: call.service, operation: call.operation, message: "cancelled"))
    }
}

/// The rest of the chain.
public typealias AWSHandler = @Sendable (AWSCall) async throws(AWSAttemptError) -> HTTPResponse

/// One step of an AWS call (as soto-core's middleware): it may change the call, wait, retry or look at the answer,
/// and hands the call on to `next`.
public protocol AWSMiddleware: Sendable {
    func handle(_ call: AWSCall, next: AWSHandler) async throws(AWSAttemptError) -> HTTPResponse
}

extension Array where Element == any AWSMiddleware {
    /// The middlewares in order, the first outermost, ending in `terminal`.
    public func chain(to terminal: @escaping AWSHandler) -> AWSHandler {
        var handler = terminal
        for middleware in reversed() {
            handler = Link(middleware: middleware, next: handler).handle
        }
        return handler
    }
}

/// A middleware bound to the rest of its chain.
private struct Link: Sendable {
    let middleware: any AWSMiddleware
    let next: AWSHandler

    func handle(_ call: AWSCall) async throws(AWSAttemptError) -> HTTPResponse {
        try await middleware.handle(call, next: next)
    }
}

/// The end of the chain: one HTTP exchange. A 2xx answer is returned; an error answer is decoded into
/// `.service`, a failed exchange is `.transport`, cancellation `.final`.
public struct TransportHandler: Sendable {
    public var transport: any HTTPTransport
    /// Deadline of one attempt.
    public var timeout: Duration

    public init(transport: any HTTPTransport, timeout: Duration) {
        self.transport = transport
        self.timeout = timeout
    }

    public func send(_ call: AWSCall) async throws(AWSAttemptError) -> HTTPResponse {
        let request = HTTPRequest(method: "POST", url: call.url, headers: call.headers, body: call.body)
        let response: HTTPResponse
        do {
            response = try await transport.send(request, timeout: timeout)
        } catch let error as TransportError {
            if error.reason == .other && error.detail == "cancelled" { throw .cancelled(call) }
            throw .transport(error)
        } catch is CancellationError {
            throw .cancelled(call)
        } catch {
            throw .transport(TransportError(.other, "\(error)"))
        }
        guard (200..<300).contains(response.status) else {
            throw .service(AWSErrorDecoder.decode(call.service, call.operation, response), response)
        }
        return response
    }
}

/// Paces each attempt within a share of AWS's throttling buckets (`RateLimiter`), and tells the limiter about
/// throttling and success so that it pauses or resumes the region.
///
/// Per attempt, not per call: AWS's buckets count every request, retries included, and the retry of a throttled call
/// must wait for the region's pause like any other call.
public struct RateLimitMiddleware: AWSMiddleware {
    public var limiter: RateLimiter
    public var sleep: @Sendable (Duration) async throws -> Void
    public var logger: Logger

    public init(limiter: RateLimiter, sleep: @escaping @Sendable (Duration) async throws -> Void, logger: Logger) {
        self.limiter = limiter
        self.sleep = sleep
        self.logger = logger
    }

    public func handle(_ call: AWSCall, next: AWSHandler) async throws(AWSAttemptError) -> HTTPResponse {
        let wait = limiter.reserve(service: call.service, operation: call.operation, region: call.region)
        if wait > .zero {
            logger.debug(
                "waiting for the rate limit",
                metadata: ["operation": "\(call.service):\(call.operation)", "wait": "\(wait)"]
            )
            do {
                try await sleep(wait)
            } catch {
                throw .cancelled(call)
            }
        }
        do {
            let response = try await next(call)
            limiter.recordSuccess(region: call.region)
            return response
        } catch {
            if case .service(let failure, let response) = error,
                RetryClassifier.classify(code: failure.code, status: response.status) == .throttled
            {
                limiter.recordThrottle(region: call.region)
            }
            throw error
        }
    }
}

/// Signs each attempt with SigV4 at AWS's time (this host's clock plus the offset a clock-skew error taught).
/// A credentials failure is final: retrying would not change it.
public struct SigningMiddleware: AWSMiddleware {
    public var credentials: any CredentialProvider
    public var now: @Sendable () -> Timestamp
    public let clockSkew: ClockSkew
    /// The signing key of the current day and credentials, kept between calls.
    let keys: SigV4KeyCache

    public init(
        credentials: any CredentialProvider,
        now: @escaping @Sendable () -> Timestamp,
        clockSkew: ClockSkew
    ) {
        self.credentials = credentials
        self.now = now
        self.clockSkew = clockSkew
        self.keys = SigV4KeyCache()
    }

    public func handle(_ call: AWSCall, next: AWSHandler) async throws(AWSAttemptError) -> HTTPResponse {
        guard call.signed else { return try await next(call) }
        let creds: AWSCredentials
        do {
            creds = try await credentials.credentials()
        } catch {
            throw .final(error)
        }
        let signer = SigV4Signer(credentials: creds, region: call.region, service: call.service)
        let skewed = Timestamp(millisecondsSinceEpoch: now().millisecondsSinceEpoch + clockSkew.milliseconds)
        let signature = signer.sign(
            SigV4Request(
                method: "POST",
                path: "/",
                headers: call.headers,
                payloadHash: SigV4Signer.payloadHash(call.body)
            ),
            at: skewed,
            keys: keys
        )
        var signedCall = call
        signedCall.headers.append(contentsOf: signature.headers)
        return try await next(signedCall)
    }
}

/// Retries in AWS's standard mode (`RetryStrategy`: attempts, full-jitter backoff, the shared retry quota), corrects
/// the clock once when AWS says the signature's time is off, learns AWS's clock from each successful answer, and
/// reports every finished call (after its retries) to `observer`.
public struct RetryMiddleware: AWSMiddleware {
    public var strategy: RetryStrategy
    public var now: @Sendable () -> Timestamp
    public var sleep: @Sendable (Duration) async throws -> Void
    public var random: @Sendable () -> Double
    public var observer: @Sendable (AWSCallRecord) -> Void
    public var logger: Logger
    public let clockSkew: ClockSkew

    public init(
        strategy: RetryStrategy,
        clockSkew: ClockSkew,
        now: @escaping @Sendable () -> Timestamp,
        sleep: @escaping @Sendable (Duration) async throws -> Void,
        random: @escaping @Sendable () -> Double,
        observer: @escaping @Sendable (AWSCallRecord) -> Void,
        logger: Logger
    ) {
        self.strategy = strategy
        self.clockSkew = clockSkew
        self.now = now
        self.sleep = sleep
        self.random = random
        self.observer = observer
        self.logger = logger
    }

    public func handle(_ call: AWSCall, next: AWSHandler) async throws(AWSAttemptError) -> HTTPResponse {
        var call = call
        var retryCost = 0
        var throttles = 0
        var skewRetried = false
        while true {
            let failure: AWSError
            let decision: RetryClassifier.Decision
            var isTimeout = false
            do {
                let response = try await next(call)
                if let serverDate = response.header("Date").flatMap(HTTPDate.parse) {
                    // The header is whole seconds: the middle of its second is the better estimate.
                    clockSkew.observe(serverDate.millisecondsSinceEpoch + 500 - now().millisecondsSinceEpoch)
                }
                strategy.recordSuccess(retryCost: retryCost)
                report(call, outcome: "ok", throttles: throttles, requestID: AWSErrorDecoder.requestID(response))
                return response
            } catch {
                switch error {
                case .final(let final):
                    throw .final(final)
                case .service(let error, let response):
                    failure = error
                    decision = RetryClassifier.classify(code: error.code, status: response.status)
                    if decision == .throttled { throttles += 1 }
                    if decision == .clockSkew, !skewRetried,
                        let serverDate = response.header("Date").flatMap(HTTPDate.parse)
                    {
                        let offset = serverDate.millisecondsSinceEpoch - now().millisecondsSinceEpoch
                        if abs(offset) > 4 * 60 * 1000 {
                            // Signed with a clock AWS rejects: adopt the server's offset for every call, retry once.
                            clockSkew.set(offset)
                            skewRetried = true
                            logger.warning(
                                "clock skew detected; correcting",
                                metadata: ["offset_ms": "\(offset)", "operation": "\(call.operation)"]
                            )
                            call.attempt += 1
                            continue
                        }
                    }
                case .transport(let transportError):
                    failure = error.error(service: call.service, operation: call.operation)
                    decision = RetryClassifier.classify(transportError)
                    isTimeout = transportError.reason == .timeout
                }
            }
            guard
                let (delay, cost) = strategy.retry(
                    after: call.attempt,
                    decision: decision,
                    idempotent: call.idempotent,
                    isTimeout: isTimeout,
                    random: random()
                )
            else {
                var final = failure
                final.attempts = call.attempt
                report(
                    call,
                    outcome: failure.kind == .transport ? "transport" : (failure.isThrottling ? "throttled" : "error"),
                    throttles: throttles,
                    requestID: failure.requestID
                )
                throw .final(final)
            }
            retryCost += cost
            logger.debug(
                "retrying AWS call",
                metadata: [
                    "service": "\(call.service)", "operation": "\(call.operation)", "attempt": "\(call.attempt)",
                    "delay": "\(delay)", "error": "\(failure.code ?? failure.message)",
                ]
            )
            do {
                try await sleep(delay)
            } catch {
                throw .final(failure)
            }
            call.attempt += 1
        }
    }

    private func report(_ call: AWSCall, outcome: String, throttles: Int, requestID: String?) {
        observer(
            AWSCallRecord(
                service: call.service,
                operation: call.operation,
                outcome: outcome,
                attempts: call.attempt,
                throttles: throttles,
                requestID: requestID
            )
        )
    }
}
