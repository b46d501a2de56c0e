/// A failed AWS call, with everything the service said and what to do about it.
///
/// `description` names the service, operation, AWS error code, HTTP status and request id, and ends with a fix
/// when one is known. It never contains a credential: messages from AWS and bodies are not echoed verbatim into
/// logs except through `debugDescription`, and even there the raw body is cut to 2 KiB.
public struct AWSError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where the failure came from.
    public enum Kind: String, Sendable {
        /// AWS (or the emulator) answered with an error.
        case service
        /// No usable answer: connection refused or reset, DNS, TLS, timeout.
        case transport
        /// An answer that could not be understood (not JSON, wrong types, cut short, too large).
        case malformedResponse
        /// No credentials could be found or refreshed.
        case credentials
        /// A setting is wrong or missing (region, endpoint, profile).
        case configuration
    }

    public let kind: Kind
    /// The signing name of the service: `states`, `elasticmapreduce`, `sts`, or the credential source.
    public let service: String
    /// The operation: `ListExecutions`, …
    public let operation: String
    /// AWS's error code without namespace (`ThrottlingException`, `AccessDeniedException`), if any.
    public let code: String?
    public let message: String
    public let statusCode: Int?
    public let requestID: String?
    /// The start of a body that could not be parsed, for `debugDescription`.
    public let rawBody: String?
    /// How many attempts were made before giving up.
    public var attempts: Int

    public init(
        kind: Kind,
        service: String,
        operation: String,
        code: String? = nil,
        message: String,
        statusCode: Int? = nil,
        requestID: String? = nil,
        rawBody: String? = nil,
        attempts: Int = 1
    ) {
        self.kind = kind
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.requestID = requestID
        self.rawBody = rawBody.map { String($0.prefix(2048)) }
        self.attempts = attempts
    }

    /// AWS refused this one request (an access denial by an SCP or a tag condition, a validation error): trying
    /// the same request again soon would be refused again, but other requests are not affected. Throttling, server
    /// errors and credential problems (which every request would meet) are not refusals.
    public var isRefusal: Bool {
        kind == .service && (400..<500).contains(statusCode ?? 0) && Self.isRefusal(code: code)
    }

    /// Whether an error code (from the journal) may be a refusal: not throttling, not a credential problem.
    public static func isRefusal(code: String?) -> Bool {
        guard let code else { return false }
        return !RetryClassifier.throttlingCodes.contains(code) && !credentialCodes.contains(code)
            && !serverCodes.contains(code)
    }

    /// Codes of server-side failures (HTTP 5xx).
    static let serverCodes: Set<String> = [
        "InternalFailure", "InternalServerError", "InternalError", "InternalServerException", "ServiceUnavailable",
        "ServiceUnavailableException",
    ]

    /// AWS refused to show this one resource (an access denial, a KMS key CostGuard may not use): asking again
    /// soon gets the same answer.
    public var isAccessRefusal: Bool {
        ["AccessDenied", "AccessDeniedException", "KmsAccessDeniedException", "KmsInvalidStateException"].contains(code)
    }

    /// Codes that every request with these credentials would meet.
    static let credentialCodes: Set<String> = [
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "InvalidClientTokenId",
        "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "RequestExpired",
        "RequestTimeTooSkewed", "RequestInTheFuture", "MissingAuthenticationToken", "InvalidAccessKeyId",
    ]

    /// A throttling error: the account's token bucket for this API is empty.
    public var isThrottling: Bool { code.map(RetryClassifier.throttlingCodes.contains) ?? (statusCode == 429) }

    public var description: String {
        var text = "\(service) \(operation) failed"
        if let code { text += ": \(code)" }
        var details: [String] = []
        if let statusCode { details.append("HTTP \(statusCode)") }
        if let requestID { details.append("request id \(requestID)") }
        if attempts > 1 { details.append("\(attempts) attempts") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        if !message.isEmpty { text += ": \(message)" }
        if let fix { text += ". Fix: \(fix)" }
        return text
    }

    public var debugDescription: String {
        description + (rawBody.map { " — body: \($0)" } ?? "")
    }

    /// What the operator can do, for the errors users hit most.
    public var fix: String? {
        switch code {
        case "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature":
            return "the secret access key does not match the access key id; check the credentials source "
                + "('costguard doctor' shows which one is used) and the system clock"
        case "InvalidClientTokenId", "UnrecognizedClientException":
            return "AWS does not know this access key id (deleted key, wrong account or partition, or temporary "
                + "credentials sent without their session token)"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            return "the credentials or the request expired; check the system clock and the credentials source"
        case "KmsAccessDeniedException":
            return "the state machine is encrypted with a customer managed KMS key that CostGuard may not use: allow "
                + "kms:Decrypt on that key (the state machine's encryptionConfiguration.kmsKeyId) for CostGuard's role, "
                + "in the key policy and the role's policy"
        case "KmsInvalidStateException":
            return "the state machine's KMS key is disabled or pending deletion: enable it (until then its executions "
                + "cannot be read by anyone)"
        case "AccessDenied", "AccessDeniedException":
            return "allow \(iamAction) for CostGuard's role (Deploy/iam-policy.json lists every action it needs)"
        case "RequestTimeTooSkewed", "RequestInTheFuture":
            return "the system clock is wrong; enable time synchronisation (systemd-timesyncd or chrony)"
        default:
            if isThrottling { return "CostGuard backs off and retries; lower its rate settings if this persists" }
            if kind == .transport {
                return "check that the endpoint is reachable (AWS_ENDPOINT_URL, proxies, network) and retry"
            }
            return nil
        }
    }

    /// The IAM action this call needs, e.g. `states:ListExecutions`.
    public var iamAction: String { "\(service == "elasticmapreduce" ? "elasticmapreduce" : service):\(operation)" }
}
