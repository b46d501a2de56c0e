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
    let clockSkew: ClockSkew

    public init(
        transport: any HTTPTransport = NIOHTTPTransport(),
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
final class ClockSkew: Sendable {
    private let offset = Mutex<Int64>(0)
    private let observed = Mutex<Int64?>(nil)
    var milliseconds: Int64 { offset.withLock { $0 } }
    func set(_ value: Int64) { offset.withLock { $0 = value } }
    var observedMilliseconds: Int64? { observed.withLock { $0 } }
    func observe(_ value: Int64) { observed.withLock { $0 = value } }
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
    /// The signing key of the current day and credentials, kept between calls.
    let signingKeys = SigV4KeyCache()
    /// The last list answers and what was read from them (see `AnswerMemo`).
    let answers = AnswerMemo()

    /// How many list answers were the same as the last one to the same request (not read again), and how many were
    /// read, since this client was made.
    public var answerCounts: (reused: Int, read: Int) { answers.counts }

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
        switch service {
        case .stepFunctions: wireProtocol = .json(version: "1.0", targetPrefix: "AWSStepFunctions")
        case .emr: wireProtocol = .json(version: "1.1", targetPrefix: "ElasticMapReduce")
        case .sts: wireProtocol = .query(apiVersion: "2011-06-15")
        }
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
                // The shapes a pass reads by the thousand (the list answers a steady pass repeats): read straight
                // from the bytes, or not at all when the answer is the one already read for this request.
                let key = AnswerMemo.Key(operation: operation, request: request)
                if let kept = answers.value(for: key, answer: body) { return kept as! Output }
                let value = try JSONReader.read(body) { (reader: inout JSONReader) throws(JSONReadError) in
                    try readable.init(reading: &reader)
                }
                answers.keep(value, for: key, answer: body)
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
            if let writable = input as? any JSONWritable {
                // The inputs a pass sends by the dozen: written directly.
                return writable.jsonBody()
            }
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

    /// Signs and sends one call with retries; returns the successful response or throws the final error.
    func send(
        _ operation: String,
        body: [UInt8],
        headers: [(String, String)],
        idempotent: Bool,
        signed: Bool
    ) async throws(AWSError) -> HTTPResponse {
        var attempt = 0
        var retryCost = 0
        var throttles = 0
        var skewRetried = false
        let payloadHash = SigV4Signer.payloadHash(body)
        while true {
            attempt += 1
            if let limiter = context.rateLimiter {
                let wait = limiter.reserve(service: service.signingName, operation: operation, region: region)
                if wait > .zero {
                    context.logger.debug(
                        "waiting for the rate limit",
                        metadata: ["operation": "\(service.signingName):\(operation)", "wait": "\(wait)"]
                    )
                    do {
                        try await context.sleep(wait)
                    } catch {
                        throw AWSError(
                            kind: .transport,
                            service: service.signingName,
                            operation: operation,
                            message: "cancelled"
                        )
                    }
                }
            }
            // Credentials and signing failures are final: retrying would not change them.
            let request = try await buildRequest(
                operation,
                body: body,
                headers: headers,
                payloadHash: payloadHash,
                signed: signed
            )
            let failure: AWSError
            let decision: RetryClassifier.Decision
            var isTimeout = false
            switch await exchange(request, operation) {
            case .success(let response):
                if (200..<300).contains(response.status) {
                    if let serverDate = response.header("Date").flatMap(HTTPDate.parse) {
                        // The header is whole seconds: the middle of its second is the better estimate.
                        context.clockSkew.observe(
                            serverDate.millisecondsSinceEpoch + 500 - context.now().millisecondsSinceEpoch
                        )
                    }
                    context.retry.recordSuccess(retryCost: retryCost)
                    context.rateLimiter?.recordSuccess(region: region)
                    context.observer(
                        AWSCallRecord(
                            service: service.signingName,
                            operation: operation,
                            outcome: "ok",
                            attempts: attempt,
                            throttles: throttles,
                            requestID: Self.requestID(response)
                        )
                    )
                    return response
                }
                failure = decodeError(operation, response)
                decision = RetryClassifier.classify(code: failure.code, status: response.status)
                if decision == .throttled {
                    throttles += 1
                    context.rateLimiter?.recordThrottle(region: region)
                }
                if decision == .clockSkew, !skewRetried,
                    let serverDate = response.header("Date").flatMap(HTTPDate.parse)
                {
                    let offset = serverDate.millisecondsSinceEpoch - context.now().millisecondsSinceEpoch
                    if abs(offset) > 4 * 60 * 1000 {
                        // Signed with a clock AWS rejects: adopt the server's offset for every call, retry once.
                        context.clockSkew.set(offset)
                        skewRetried = true
                        context.logger.warning(
                            "clock skew detected; correcting",
                            metadata: ["offset_ms": "\(offset)", "operation": "\(operation)"]
                        )
                        continue
                    }
                }
            case .failure(let transportError):
                if transportError.reason == .other && transportError.detail == "cancelled" {
                    throw AWSError(
                        kind: .transport,
                        service: service.signingName,
                        operation: operation,
                        message: "cancelled"
                    )
                }
                failure = AWSError(
                    kind: .transport,
                    service: service.signingName,
                    operation: operation,
                    message: transportError.description
                )
                decision = RetryClassifier.classify(transportError)
                isTimeout = transportError.reason == .timeout
            }
            guard
                let (delay, cost) = context.retry.retry(
                    after: attempt,
                    decision: decision,
                    idempotent: idempotent,
                    isTimeout: isTimeout,
                    random: context.random()
                )
            else {
                var final = failure
                final.attempts = attempt
                context.observer(
                    AWSCallRecord(
                        service: service.signingName,
                        operation: operation,
                        outcome: failure.kind == .transport
                            ? "transport" : (failure.isThrottling ? "throttled" : "error"),
                        attempts: attempt,
                        throttles: throttles,
                        requestID: failure.requestID
                    )
                )
                throw final
            }
            retryCost += cost
            context.logger.debug(
                "retrying AWS call",
                metadata: [
                    "service": "\(service.signingName)", "operation": "\(operation)", "attempt": "\(attempt)",
                    "delay": "\(delay)", "error": "\(failure.code ?? failure.message)",
                ]
            )
            do {
                try await context.sleep(delay)
            } catch {
                throw failure
            }
        }
    }

    /// One HTTP exchange; every failure becomes a `TransportError` (cancellation as `.other` "cancelled").
    private func exchange(_ request: HTTPRequest, _ operation: String) async -> Result<HTTPResponse, TransportError> {
        do {
            return .success(try await context.transport.send(request, timeout: context.attemptTimeout))
        } catch let error as TransportError {
            return .failure(error)
        } catch is CancellationError {
            return .failure(TransportError(.other, "cancelled"))
        } catch {
            return .failure(TransportError(.other, "\(error)"))
        }
    }

    func buildRequest(
        _ operation: String,
        body: [UInt8],
        headers: [(String, String)],
        payloadHash: String,
        signed: Bool
    ) async throws(AWSError) -> HTTPRequest {
        var all: [(name: String, value: String)] = [("Host", endpoint.host)] + headers.map { (name: $0.0, value: $0.1) }
        all.append(("User-Agent", "costguard/\(CostGuardVersion.current)"))
        if signed {
            // Typed throws: a provider's failure is already an AWSError.
            let creds: AWSCredentials = try await credentials.credentials()
            let signer = SigV4Signer(credentials: creds, region: region, service: service.signingName)
            let skewed = Timestamp(
                millisecondsSinceEpoch: context.now().millisecondsSinceEpoch + context.clockSkew.milliseconds
            )
            let signature = signer.sign(
                SigV4Request(method: "POST", path: "/", headers: all, payloadHash: payloadHash),
                at: skewed,
                keys: signingKeys
            )
            all.append(contentsOf: signature.headers)
        }
        return HTTPRequest(method: "POST", url: endpoint.url + "/", headers: all, body: body)
    }

    /// Turns an error response into an `AWSError`, keeping code, message, status and request id; survives bodies
    /// that are not JSON (moto's XML auth errors, proxies' HTML).
    func decodeError(_ operation: String, _ response: HTTPResponse) -> AWSError {
        var code: String?
        var message = ""
        if let header = response.header("X-Amzn-ErrorType") {
            code = String(header.split(separator: ":").first ?? "")
        }
        let text = String(decoding: response.body, as: UTF8.self)
        var parsed = false
        if let object = (try? JSONValue(parsing: response.body))?.object {
            parsed = true
            if let type = object["__type"]?.string ?? object["code"]?.string ?? object["Code"]?.string {
                // `com.amazonaws.emr#InvalidRequestException` or `aws.protocoltests#Code:http://…`
                let afterHash = type.split(separator: "#").last.map(String.init) ?? type
                let bare = afterHash.split(separator: ":").first.map(String.init) ?? afterHash
                if !bare.isEmpty { code = bare }
            }
            message = object["message"]?.string ?? object["Message"]?.string ?? object["errorMessage"]?.string ?? ""
        } else if text.contains("<Code>") {
            parsed = true
            code = XMLText.first("Code", in: text) ?? code
            message = XMLText.first("Message", in: text) ?? ""
        }
        if code?.isEmpty ?? false { code = nil }
        if !parsed && message.isEmpty {
            message = response.body.isEmpty ? "empty error response" : "unparsable error response"
        }
        let requestID = Self.requestID(response) ?? (parsed ? XMLText.first("RequestId", in: text) : nil)
        return AWSError(
            kind: .service,
            service: service.signingName,
            operation: operation,
            code: code ?? (response.status == 429 ? "TooManyRequestsException" : nil),
            message: message,
            statusCode: response.status,
            requestID: requestID,
            rawBody: parsed ? nil : text
        )
    }

    static func requestID(_ response: HTTPResponse) -> String? {
        response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
    }

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
