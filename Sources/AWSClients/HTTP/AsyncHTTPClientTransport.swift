internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import Synchronization

/// HTTP through async-http-client, configured for AWS: redirects never followed (an AWS endpoint does not redirect
/// API calls; following one could send a signed request elsewhere), a short connect timeout, HTTP/1.1 keep-alive
/// pools per host, a cap on response size, `AWS_CA_BUNDLE` trusted besides the system's roots, and the proxies of
/// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (`ProxyConfiguration`), HTTPS tunnelled with CONNECT.
///
/// One client per proxy in use, made once per process and kept (as a global client is): the clients never shut
/// down, so none is deinitialised with connections open.
public struct AsyncHTTPClientTransport: HTTPTransport {
    /// Transport settings.
    public struct Configuration: Sendable, Hashable {
        /// The largest response body accepted. Default 64 MiB (a page of 1000 history events can be large).
        public var maxResponseBytes = 64 * 1024 * 1024
        /// How long making a connection may take, within the exchange's deadline. Default 5 s.
        public var connectTimeout: Duration = .seconds(5)
        /// How long an unused connection stays open for the next request. Default 20 s.
        public var idleTimeout: Duration = .seconds(20)
        /// A PEM file of certificates to trust besides the system's (`AWS_CA_BUNDLE`).
        public var caBundle: String?
        /// The proxies to go through.
        public var proxy = ProxyConfiguration.none

        public init() {}
    }

    let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The default configuration, trusting the certificates of `caBundle` besides the system's (see
    /// `AWSSettings.caBundle`, which finds it in the environment or the profile).
    public init(caBundle: String?) {
        var configuration = Configuration()
        configuration.caBundle = caBundle
        self.init(configuration: configuration)
    }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        // Absolute http/https, no user information, IPv6, ports (`Target`).
        let target = try Target(url: request.url).key
        let server = configuration.proxy.server(
            scheme: target.tls ? "https" : "http",
            host: target.host,
            port: target.port
        )
        let client = Self.client(for: ClientKey(configuration: configuration, proxy: server))
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        do {
            let response = try await client.execute(outgoing, deadline: .now() + TimeAmount(timeout))
            let body = try await response.body.collect(upTo: configuration.maxResponseBytes)
            return HTTPResponse(
                status: Int(response.status.code),
                headers: response.headers.map { (name: $0.name, value: $0.value) },
                body: Array(buffer: body)
            )
        } catch let error as TransportError {
            throw error
        } catch {
            throw Self.transportError(error, proxy: server)
        }
    }

    static func transportError(_ error: any Error, proxy: ProxyConfiguration.Server?) -> TransportError {
        let via = proxy.map { " (through the proxy \($0))" } ?? ""
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .tlsHandshakeTimeout, .httpProxyHandshakeTimeout:
                return TransportError(.timeout, "connecting timed out\(via): \(error)")
            case .deadlineExceeded, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout:
                return TransportError(.timeout, "no complete response in time\(via): \(error)")
            case .remoteConnectionClosed, .uncleanShutdown:
                return TransportError(.connectionLost, "\(error)\(via)")
            case .proxyAuthenticationRequired:
                return TransportError(
                    .connect,
                    "the proxy \(proxy.map(\.description) ?? "") asks for credentials (407). Fix: put them in the "
                        + "proxy URL, http://USER:PASSWORD@HOST:PORT"
                )
            case .invalidProxyResponse:
                return TransportError(.connect, "the proxy\(via) refused the tunnel: \(error)")
            case .cancelled:
                return TransportError(.other, "cancelled")
            default:
                return TransportError(.other, "\(error)\(via)")
            }
        }
        if error is NIOTooManyBytesError {
            return TransportError(.responseTooLarge, "the response is larger than the allowed size")
        }
        if error is NIOConnectionError { return TransportError(.connect, "\(error)\(via)") }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNRESET, EPIPE, ECONNABORTED: return TransportError(.connectionLost, "\(error)\(via)")
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH: return TransportError(.connect, "\(error)\(via)")
            default: return TransportError(.other, "\(error)\(via)")
            }
        }
        if let error = error as? NIOSSLError {
            // Only a failed handshake means nothing was sent; an unclean shutdown may follow a request.
            if case .handshakeFailed = error { return TransportError(.connect, "TLS: \(error)\(via)") }
            return TransportError(.connectionLost, "TLS: \(error)\(via)")
        }
        if error is NIOSSLExtraError || error is BoringSSLError {
            return TransportError(.connect, "TLS: \(error)\(via)")
        }
        if error is HTTPParserError {
            // The answer broke off or was not HTTP: the request may have been applied.
            return TransportError(.connectionLost, "the answer broke off: \(error)\(via)")
        }
        if error is CancellationError { return TransportError(.other, "cancelled") }
        return TransportError(.other, "\(error)\(via)")
    }

    /// What makes two clients different.
    struct ClientKey: Hashable {
        var connectTimeout: Duration
        var idleTimeout: Duration
        var caBundle: String?
        var proxy: ProxyConfiguration.Server?

        init(configuration: Configuration, proxy: ProxyConfiguration.Server?) {
            connectTimeout = configuration.connectTimeout
            idleTimeout = configuration.idleTimeout
            caBundle = configuration.caBundle
            self.proxy = proxy
        }
    }

    private static let clients = Mutex<[ClientKey: HTTPClient]>([:])

    static func client(for key: ClientKey) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[key] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caBundle = key.caBundle {
                tls.additionalTrustRoots = [.file(caBundle)]
            }
            var configuration = HTTPClient.Configuration(
                tlsConfiguration: tls,
                redirectConfiguration: .disallow,
                timeout: HTTPClient.Configuration.Timeout(connect: TimeAmount(key.connectTimeout)),
                proxy: key.proxy.map { server in
                    .server(
                        host: server.host,
                        port: server.port,
                        authorization: server.credentials.map {
                            HTTPClient.Authorization.basic(credentials: Base64Text.encode(Array($0.utf8)))
                        }
                    )
                }
            )
            configuration.httpVersion = .http1Only
            configuration.connectionPool.idleTimeout = TimeAmount(key.idleTimeout)
            configuration.decompression = .disabled
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            clients[key] = client
            return client
        }
    }
}

/// Base64 (RFC 4648, with padding), for `Proxy-Authorization: Basic`.
enum Base64Text {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = UInt32(0)
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                if position <= chunk.count {
                    out.append(alphabet[Int((value >> (18 - 6 * position)) & 0x3F)])
                } else {
                    out.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The transport CostGuard uses: async-http-client with the proxies of the environment and `caBundle`.
///
/// - Throws: `ProxyConfiguration.Problem` for a bad proxy variable.
public func makeHTTPTransport(
    environment: [String: String],
    caBundle: String?
) throws(ProxyConfiguration.Problem) -> any HTTPTransport {
    var configuration = AsyncHTTPClientTransport.Configuration()
    configuration.caBundle = caBundle
    configuration.proxy = try ProxyConfiguration.fromEnvironment(environment)
    return AsyncHTTPClientTransport(configuration: configuration)
}
