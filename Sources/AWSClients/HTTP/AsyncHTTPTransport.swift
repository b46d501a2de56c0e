public import AsyncHTTPClient
internal import NIOCore
#if canImport(Glibc)
    internal import Glibc
#endif
internal import NIOHTTP1

/// The process's HTTP client for AWS. Unlike `HTTPClient.shared` (a browser-like configuration): no redirects (AWS
/// APIs do not redirect; following one would send a signed request elsewhere), a 5 s connect timeout, and no
/// connection-establishment retries inside the pool — CostGuard's retry strategy decides, as the SDKs' do — so an
/// unreachable endpoint fails a call at once instead of holding every request until its deadline (a pass against a
/// dead endpoint then ends in seconds, degraded, instead of hours). No read timeout: every exchange has a deadline
/// (`send`'s `timeout`, at most 30 s), which a read timeout could only repeat, at the price of an idle-state
/// handler added to and removed from the connection's pipeline for every request (~10 % of a call's CPU here).
/// A global: never shut down, like `.shared`.
public let awsHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(
        certificateVerification: .fullVerification, redirectConfiguration: .disallow,
        timeout: .init(connect: .seconds(5)), connectionPool: .seconds(60), proxy: nil,
        ignoreUncleanSSLShutdown: false, decompression: .disabled, backgroundActivityLogger: nil)
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// `HTTPTransport` over async-http-client: TLS with the system trust store, a connect timeout, a deadline for the
/// whole exchange, and a cap on the response size.
public struct AsyncHTTPTransport: HTTPTransport {
    /// Transport settings.
    public struct Configuration: Sendable {
        /// The largest response body accepted. Default 64 MiB (a page of 1000 history events can be large).
        public var maxResponseBytes = 64 * 1024 * 1024

        public init() {}
    }

    let client: HTTPClient
    let configuration: Configuration

    /// Uses the process's AWS client (`awsHTTPClient`: system trust roots, no redirects, 5 s connect timeout, no
    /// connection retries inside the pool), which needs no shutdown.
    public init(client: HTTPClient = awsHTTPClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
    }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let deadline = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
            + timeout.components.attoseconds / 1_000_000_000)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outgoing, timeout: deadline)
        } catch {
            throw Self.classify(error)
        }
        var body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw TransportError(.responseTooLarge, "the response body exceeds \(configuration.maxResponseBytes) bytes")
        } catch {
            throw Self.classify(error)
        }
        return HTTPResponse(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: body.readBytes(length: body.readableBytes) ?? [])
    }

    static func classify(_ error: any Error) -> TransportError {
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNRESET, EPIPE, ECONNABORTED: return TransportError(.connectionLost, "\(error)")
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH: return TransportError(.connect, "\(error)")
            case ETIMEDOUT: return TransportError(.timeout, "\(error)")
            default: return TransportError(.other, "\(error)")
            }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return TransportError(.timeout, "\(error)")
            case .remoteConnectionClosed, .cancelled:
                return TransportError(.connectionLost, "\(error)")
            default:
                return TransportError(.other, "\(error)")
            }
        }
        let text = String(describing: error).lowercased()
        if text.contains("connecttimeout") || text.contains("deadline") { return TransportError(.timeout, text) }
        if text.contains("connection reset") || text.contains("econnreset") || text.contains("eofduringbody")
            || text.contains("uncleanshutdown") || text.contains("remoteconnectionclosed") || text.contains("invalideof")
            || text.contains("stream ended")
        {
            return TransportError(.connectionLost, text)
        }
        if text.contains("refused") || text.contains("dns") || text.contains("unknownhost")
            || text.contains("handshake") || text.contains("connect")
        {
            return TransportError(.connect, text)
        }
        return TransportError(.other, text)
    }
}
