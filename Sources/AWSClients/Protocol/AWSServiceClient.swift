import AWSSigV4
public import CostGuardCore
public import Logging
internal import Synchronization

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// What every AWS call shares: transport, retry strategy and quota, clock, sleeper, logger and call observer.
public struct AWSCallContext: Sendable {
    /// Sends the HTTP requests.
    public var transport: any HTTPTransport
    /// Standard-mode retries with the shared quota.
    public var retry: RetryStrategy
    /// The current time (injected so tests control expiry and signing dates).
    public var now: @Sendable () -> Timestamp
    /// Waits between attempts (injected so tests do not sleep).
    public var sleep: @Sendable (Duration) async throws -> Void
    /// A number in `0..<1` for backoff jitter.
    public var random: @Sendable () -> Double
    /// Deadline of one attempt. Default 30 s.
    public var attemptTimeout: Duration
    /// Receives one record per finished call (after retries), for metrics and the pass's call counts.
    public var observer: @Sendable (AWSCallRecord) -> Void
    public var logger: Logger
    /// Paces calls within a share of AWS's throttling buckets, and pauses a region after throttling.
    public var rateLimiter: RateLimiter?
    /// The offset learned from the service's `Date` header after a clock-skew error, shared by all calls.
    public let clockSkew: ClockSkew

    public init(
        transport: any HTTPTransport = AsyncHTTPClientTransport(),
        retry: RetryStrategy = RetryStrategy(),
        now: @escaping @Sendable () -> Timestamp = { Timestamp.systemNow() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        attemptTimeout: Duration = .seconds(30),
        observer: @escaping @Sendable (AWSCallRecord) -> Void = { _ in },
        logger: Logger = Logger(label: "costguard.aws"),
        rateLimiter: RateLimiter? = nil
    ) {
        self.rateLimiter = rateLimiter
        self.transport = transport
        self.retry = retry
        self.now = now
        self.sleep = sleep
        self.random = random
        self.attemptTimeout = attemptTimeout
        self.observer = observer
        self.logger = logger
        self.clockSkew = ClockSkew()
    }
}

/// One finished AWS call, for metrics and call counting.
public struct AWSCallRecord: Sendable {
    public var service: String
    public var operation: String
    /// `ok`, `throttled`, `error`, or `transport`.
    public var outcome: String
    public var attempts: Int
    public var throttles: Int
    public var requestID: String?
}

/// The clock offset between this machine and AWS: the one adopted for signing after a clock-skew error, and the
/// one last observed in a successful answer's `Date` header (AWS's clock, to the second).
public final class ClockSkew: Sendable {
    private let offset = Mutex<Int64>(0)
    private let observed = Mutex<Int64?>(nil)
    public init() {}
    /// The offset signatures use, in milliseconds (AWS's clock minus this host's).
    public var milliseconds: Int64 { offset.withLock { $0 } }
    public func set(_ value: Int64) { offset.withLock { $0 = value } }
    /// The offset the last successful answer's `Date` header showed.
    public var observedMilliseconds: Int64? { observed.withLock { $0 } }
    public func observe(_ value: Int64) { observed.withLock { $0 = value } }
}

extension AWSCallContext {
    /// AWS's clock minus this machine's, as the last successful answer's `Date` header showed it (whole seconds:
    /// good to about a second plus the answer's travel time); `nil` before any answer carried one.
    public var observedClockOffset: Duration? {
        clockSkew.observedMilliseconds.map { .milliseconds($0) }
    }
}

extension Timestamp {
    /// The system clock. Only the edges (the command line, the AWS context) call this; the core never does.
    public static func systemNow() -> Timestamp {
        Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
    }
}

/// Signs, sends, retries and decodes calls to one AWS service in one region.
///
/// JSON protocols (`awsJson1_0` for Step Functions, `awsJson1_1` for EMR) post JSON to `/` with
/// `X-Amz-Target: <prefix>.<Operation>`; the query protocol (STS) posts a form and answers XML.
public struct AWSServiceClient: Sendable {
    /// The wire protocol.
    public enum WireProtocol: Sendable {
        case json(version: String, targetPrefix: String)
        case query(apiVersion: String)
    }

    public let service: AWSService
    public let region: String
    public let endpoint: Endpoint
    public let credentials: any CredentialProvider
    public let wireProtocol: WireProtocol
    public let context: AWSCallContext
    /// The call's way to the wire: retry (with clock skew) → rate limit → sign → transport.
    let handler: AWSHandler
    public init(
        service: AWSService,
        region: String,
        endpoint: Endpoint,
        credentials: any CredentialProvider,
        context: AWSCallContext
    ) {
        self.service = service
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.context = context
        handler = Self.middlewares(credentials: credentials, context: context).chain(
            to: TransportHandler(transport: context.transport, timeout: context.attemptTimeout).send
        )
        switch service {
        case .stepFunctions: wireProtocol = .json(version: "1.0", targetPrefix: "AWSStepFunctions")
        case .emr: wireProtocol = .json(version: "1.1", targetPrefix: "ElasticMapReduce")
        case .sts: wireProtocol = .query(apiVersion: "2011-06-15")
        case .sns: wireProtocol = .query(apiVersion: "2010-03-31")
        }
    }

    /// The middlewares of every call, outermost first. Rate limiting is inside the retries: AWS's buckets count
    /// every attempt, and a retry after throttling waits for the region's pause like any other call.
    static func middlewares(credentials: any CredentialProvider, context: AWSCallContext) -> [any AWSMiddleware] {
        var chain: [any AWSMiddleware] = [
            RetryMiddleware(
                strategy: context.retry,
                clockSkew: context.clockSkew,
                now: context.now,
                sleep: context.sleep,
                random: context.random,
                observer: context.observer,
                logger: context.logger
            )
        ]
        if let limiter = context.rateLimiter {
            chain.append(RateLimitMiddleware(limiter: limiter, sleep: context.sleep, logger: context.logger))
        }
        chain.append(SigningMiddleware(credentials: credentials, now: context.now, clockSkew: context.clockSkew))
        return chain
    }

    /// Calls a JSON-protocol operation.
    ///
    /// - Parameters:
    ///   - operation: e.g. `ListExecutions`.
    ///   - input: the request shape.
    ///   - idempotent: whether a failure after the request may have been applied can be retried.
    /// - Returns: the decoded response shape.
    public func callJSON<Input: Encodable, Output: Decodable>(
        _ operation: String,
        _ input: Input,
        as output: Output.Type = Output.self,
        idempotent: Bool = true
    ) async throws(AWSError) -> Output {
        let request = try encodeJSON(operation, input)
        let response = try await sendJSON(operation, body: request, idempotent: idempotent)
        do {
            let body = response.body.isEmpty ? Array("{}".utf8) : response.body
            if let readable = Output.self as? any JSONReadable.Type {
                // The shapes a pass reads by the thousand: read straight from the bytes.
                let value = try JSONReader.read(body) { (reader: inout JSONReader) throws(JSONReadError) in
                    try readable.init(reading: &reader)
                }
                return value as! Output
            }
            try JSONReader.validate(body)
            return try JSONDecoder().decode(Output.self, from: Data(body))
        } catch {
            throw AWSError(
                kind: .malformedResponse,
                service: service.signingName,
                operation: operation,
                message: "the response is not the expected JSON: \(Self.describe(error))",
                statusCode: response.status,
                requestID: Self.requestID(response),
                rawBody: String(decoding: response.body.prefix(2048), as: UTF8.self)
            )
        }
    }

    /// The JSON body of `input`.
    private func encodeJSON<Input: Encodable>(_ operation: String, _ input: Input) throws(AWSError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(input))
        } catch {
            throw AWSError(
                kind: .configuration,
                service: service.signingName,
                operation: operation,
                message: "\(error)"
            )
        }
    }

    /// Sends a JSON `body` with the JSON protocol's content type and target header.
    private func sendJSON(_ operation: String, body: [UInt8], idempotent: Bool) async throws(AWSError) -> HTTPResponse {
        guard case .json(let version, let prefix) = wireProtocol else {
            preconditionFailure("\(service) does not speak JSON")
        }
        return try await send(
            operation,
            body: body,
            headers: [
                ("Content-Type", "application/x-amz-json-\(version)"), ("X-Amz-Target", "\(prefix).\(operation)"),
            ],
            idempotent: idempotent,
            signed: true
        )
    }

    /// Calls a JSON-protocol operation whose answer carries nothing but its request id (the mutating calls).
    public func callJSONReturningRequestID<Input: Encodable>(
        _ operation: String,
        _ input: Input,
        idempotent: Bool = true
    ) async throws(AWSError) -> String? {
        Self.requestID(try await sendJSON(operation, body: try encodeJSON(operation, input), idempotent: idempotent))
    }

    /// Calls a query-protocol operation and returns the XML text of the response.
    ///
    /// - Parameter signed: `false` for the operations AWS serves without a signature (AssumeRoleWithWebIdentity).
    public func callQuery(
        _ operation: String,
        _ parameters: [(String, String)],
        idempotent: Bool = true,
        signed: Bool = true
    ) async throws(AWSError) -> String {
        guard case .query(let apiVersion) = wireProtocol else { preconditionFailure("\(service) does not speak query") }
        let pairs = [("Action", operation), ("Version", apiVersion)] + parameters
        let form = pairs.map {
            "\(SigV4Signer.uriEncode($0.0, keepSlash: false))=\(SigV4Signer.uriEncode($0.1, keepSlash: false))"
        }
        .joined(separator: "&")
        let response = try await send(
            operation,
            body: Array(form.utf8),
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            idempotent: idempotent,
            signed: signed
        )
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Sends one call through the chain; returns the successful response or throws the final error.
    func send(
        _ operation: String,
        body: [UInt8],
        headers: [(String, String)],
        idempotent: Bool,
        signed: Bool
    ) async throws(AWSError) -> HTTPResponse {
        var all: [(name: String, value: String)] = [("Host", endpoint.host)] + headers.map { (name: $0.0, value: $0.1) }
        all.append(("User-Agent", "costguard/\(CostGuardVersion.current)"))
        let call = AWSCall(
            service: service.signingName,
            operation: operation,
            region: region,
            url: endpoint.url + "/",
            headers: all,
            body: body,
            idempotent: idempotent,
            signed: signed
        )
        do {
            return try await handler(call)
        } catch {
            throw error.error(service: service.signingName, operation: operation)
        }
    }

    static func requestID(_ response: HTTPResponse) -> String? { AWSErrorDecoder.requestID(response) }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)' at \(path(context.codingPath))"
        case DecodingError.typeMismatch(let type, let context):
            return "expected \(type) at \(path(context.codingPath))"
        case DecodingError.valueNotFound(let type, let context):
            return "null where \(type) was expected at \(path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            return "invalid data at \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty
            ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
