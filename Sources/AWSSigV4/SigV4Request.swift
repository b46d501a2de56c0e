/// The parts of an HTTP request that SigV4 signs.
public struct SigV4Request: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The path exactly as it goes on the wire (already percent-encoded where needed), starting with `/`.
    public var path: String
    /// Query parameters, decoded (the signer encodes them), in any order.
    public var query: [(name: String, value: String)]
    /// Headers in any order and case; repeated names are allowed. Must include `host`.
    public var headers: [(name: String, value: String)]
    /// Lower-case hex SHA-256 of the body.
    public var payloadHash: String

    public init(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)],
        payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}

/// What signing adds to a request: the headers to set, and the intermediate strings for diagnostics and tests.
public struct SigV4Signature: Sendable {
    /// Headers to add, in order: `X-Amz-Date`, then `X-Amz-Security-Token` and `X-Amz-Content-Sha256` when used,
    /// then `Authorization`.
    public var headers: [(name: String, value: String)]
    public var canonicalRequest: String
    public var stringToSign: String
    /// Hex signature.
    public var signature: String
    /// `host;x-amz-date;…`
    public var signedHeaders: String
}
