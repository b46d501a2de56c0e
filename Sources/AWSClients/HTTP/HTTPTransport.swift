/// An HTTP request as the AWS clients build it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute URL, e.g. `https://states.us-east-1.amazonaws.com/`.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response with its whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) }?.value
    }
}

/// Why an HTTP exchange produced no response.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The connection could not be made (refused, DNS, TLS handshake).
        case connect
        /// No complete response within the deadline.
        case timeout
        /// The connection broke after the request may have been sent.
        case connectionLost
        /// The body was larger than the configured cap.
        case responseTooLarge
        /// Anything else.
        case other
    }

    public var reason: Reason
    public var detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// Sends HTTP requests. The real one is `AsyncHTTPClientTransport`; tests inject fakes and fault-injecting servers.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the whole response, or throws `TransportError`.
    ///
    /// - Parameter timeout: the deadline for the whole exchange, connection included.
    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse
}

extension String {
    /// ASCII case-insensitive equality, for header names.
    func caseInsensitiveCompare(_ other: String) -> Bool {
        // On the bytes: a response's headers are looked up a few times per call, and `lowercased()` makes strings.
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20))
        }
    }
}
