/// Which failures the SDKs' standard retry mode retries (botocore `retries/standard.py`, the SDK retry spec).
public enum RetryClassifier {
    /// Codes that mean "slow down": the request was rejected before it did anything.
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    /// Codes for transient server-side failures.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
        "InternalFailure", "ServiceUnavailable", "InternalServerError",
    ]
    /// HTTP statuses retried whatever the code.
    public static let transientStatuses: Set<Int> = [500, 502, 503, 504]
    /// Codes that mean the request's time was off: retried once after correcting the clock offset.
    public static let clockSkewCodes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException", "SignatureDoesNotMatch",
        "AuthFailure", "RequestInTheFuture",
    ]

    /// How a failed attempt should be treated.
    public enum Decision: Equatable, Sendable {
        /// Retry: throttled (the request did nothing).
        case throttled
        /// Retry if the operation is idempotent: the request may or may not have been applied.
        case transient
        /// Retry only when the response's clock differs enough from ours.
        case clockSkew
        /// Do not retry.
        case fatal
    }

    /// Classifies an AWS error response.
    public static func classify(code: String?, status: Int) -> Decision {
        if let code {
            if throttlingCodes.contains(code) { return .throttled }
            if clockSkewCodes.contains(code) { return .clockSkew }
            if transientCodes.contains(code) { return .transient }
        }
        if status == 429 { return .throttled }
        if transientStatuses.contains(status) { return .transient }
        return .fatal
    }

    /// Classifies a transport failure.
    public static func classify(_ error: TransportError) -> Decision {
        switch error.reason {
        case .connect: return .throttled  // nothing reached the service: safe to retry even when not idempotent
        case .timeout, .connectionLost: return .transient
        case .responseTooLarge, .other: return .fatal
        }
    }
}
