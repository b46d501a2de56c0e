internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import NIOTLS
internal import Synchronization

/// `HTTPTransport` straight on SwiftNIO: HTTP/1.1 with keep-alive connections pooled per scheme, host and port, TLS
/// with the system trust store (plus `AWS_CA_BUNDLE`'s certificates when given), a connect timeout, a deadline for
/// the whole exchange, and a cap on the response size.
///
/// What the AWS calls need and no more: no redirects (AWS APIs do not redirect; following one would send a signed
/// request elsewhere), no proxy, no HTTP/2, no connection retries inside the transport (CostGuard's retry strategy
/// decides, as the SDKs' do). Not the default: `AsyncHTTPClientTransport` is, since it costs only 15 ms more CPU per
/// steady pass at 20 ms of latency and brings proxy support; this one stays for the side-by-side benchmark
/// (`COSTGUARD_HTTP_CLIENT=nio`, `Benchmarks/transports.py`).
public struct NIOHTTPTransport: HTTPTransport {
    /// Transport settings.
    public struct Configuration: Sendable, Hashable {
        /// The largest response body accepted. Default 64 MiB (a page of 1000 history events can be large).
        public var maxResponseBytes = 64 * 1024 * 1024
        /// How long making a connection (TCP, not TLS) may take, within the exchange's deadline. Default 5 s.
        public var connectTimeout: Duration = .seconds(5)
        /// How long an unused connection stays open for the next request. Default 20 s (servers close idle
        /// connections after a while; a request on a connection the server is closing fails).
        public var idleTimeout: Duration = .seconds(20)
        /// A PEM file of certificates to trust besides the system's (`AWS_CA_BUNDLE`), e.g. a TLS-inspecting proxy's.
        public var caBundle: String?

        public init() {}
    }

    let pool: ConnectionPool

    /// Uses the process's pool of connections for this configuration (one per distinct configuration, never shut
    /// down, like a global client).
    public init(configuration: Configuration = Configuration()) {
        pool = ConnectionPool.shared(configuration)
    }

    /// The default configuration, with `AWS_CA_BUNDLE` (as the SDKs read it) when set.
    public init(environment: [String: String]) {
        self.init(caBundle: environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The default configuration, trusting the certificates of `caBundle` besides the system's (see
    /// `AWSSettings.caBundle`, which finds it in the environment or the profile).
    public init(caBundle: String?) {
        var configuration = Configuration()
        configuration.caBundle = caBundle
        self.init(configuration: configuration)
    }

    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        let target = try pool.target(of: request.url)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let connection = try await pool.connection(to: target.key, deadline: deadline)
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 2)
        var hasHost = false
        for (name, value) in request.headers {
            if name.caseInsensitiveCompare("host") { hasHost = true }
            headers.add(name: name, value: value)
        }
        if !hasHost { headers.add(name: "Host", value: target.hostHeader) }
        let hasBody = !request.body.isEmpty || request.method == "POST" || request.method == "PUT"
        if hasBody { headers.replaceOrAdd(name: "Content-Length", value: String(request.body.count)) }
        let head = HTTPRequestHead(
            version: .http1_1,
            method: HTTPMethod(rawValue: request.method),
            uri: target.uri,
            headers: headers
        )
        let body = hasBody && !request.body.isEmpty ? ByteBuffer(bytes: request.body) : nil
        let channel = connection.channel
        let promise = channel.eventLoop.makePromise(of: ExchangeResult.self)
        let limit = pool.configuration.maxResponseBytes
        @Sendable func begin() {
            do {
                let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
                handler.begin(head: head, body: body, limit: limit, deadline: deadline, promise: promise)
            } catch {
                promise.fail(TransportError(.connect, ExchangeHandler.closedBeforeSending))
            }
        }
        // On the connection's own loop (under `TransportExecutor`), the request is written right away.
        if channel.eventLoop.inEventLoop { begin() } else { channel.eventLoop.execute(begin) }
        let result: ExchangeResult
        do {
            result = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.eventLoop.execute {
                    (try? channel.pipeline.syncOperations.handler(type: ExchangeHandler.self))?
                        .fail(TransportError(.other, "cancelled"))
                    channel.close(promise: nil)
                }
            }
        } catch let error as TransportError {
            throw error
        } catch {
            throw NIOHTTPTransport.classify(error)
        }
        if result.keepAlive {
            pool.release(connection, key: target.key)
        } else {
            channel.close(promise: nil)
        }
        return HTTPResponse(status: result.status, headers: result.headers, body: result.body)
    }

    /// An error from NIO or TLS as a `TransportError`.
    static func classify(_ error: any Error) -> TransportError {
        if let error = error as? TransportError { return error }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNRESET, EPIPE, ECONNABORTED: return TransportError(.connectionLost, "\(error)")
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH: return TransportError(.connect, "\(error)")
            case ETIMEDOUT: return TransportError(.timeout, "\(error)")
            default: return TransportError(.other, "\(error)")
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return TransportError(.timeout, "connecting timed out: \(error)")
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
                return TransportError(.connectionLost, "\(error)")
            default: return TransportError(.other, "\(error)")
            }
        }
        if let error = error as? HTTPParserError {
            // The server closed the connection in the middle of a response.
            if error == .invalidEOFState { return TransportError(.connectionLost, "\(error)") }
            return TransportError(.other, "a malformed HTTP response: \(error)")
        }
        if error is NIOConnectionError { return TransportError(.connect, "\(error)") }
        // A failed handshake (an untrusted certificate, a wrong host name) happens before any request byte leaves:
        // nothing reached the server. Any other TLS failure may come after the request was sent.
        if let error = error as? NIOSSLError, case .handshakeFailed = error {
            return TransportError(.connect, "TLS: \(error)")
        }
        if error is NIOSSLExtraError { return TransportError(.connect, "TLS: \(error)") }
        if error is NIOSSLError || error is BoringSSLError { return TransportError(.connectionLost, "TLS: \(error)") }
        return TransportError(.other, "\(error)")
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(
            seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
                ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        )
    }
}

/// Where a request goes: scheme, host and port (the pool's key), and the request target.
struct Target {
    struct Key: Hashable, Sendable {
        var tls: Bool
        var host: String
        var port: Int
    }

    var key: Key
    /// The path and query, `/` at least.
    var uri: String
    /// The `Host` header: the host, with the port when it is not the scheme's default.
    var hostHeader: String

    init(url: String) throws(TransportError) {
        guard let separator = url.utf8.firstRange(of: "://".utf8) else {
            throw TransportError(.other, "'\(url)' is not an absolute http:// or https:// URL")
        }
        let scheme = String(url[..<separator.lowerBound]).lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw TransportError(.other, "'\(url)': only http:// and https:// are supported")
        }
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if !path.hasPrefix("/") { path = "/" + path }
        guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else {
            throw TransportError(.other, "'\(url)' has no host, or has user information (not supported)")
        }
        let tls = scheme == "https"
        var host = Substring(authority)
        var port = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw TransportError(.other, "'\(url)': unclosed IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                    throw TransportError(.other, "'\(url)': bad port")
                }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                throw TransportError(.other, "'\(url)': bad port")
            }
            host = authority[..<colon]
            port = value
        }
        key = Key(tls: tls, host: String(host), port: port)
        uri = path
        let shownHost = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : String(host)
        hostHeader = port == (tls ? 443 : 80) ? shownHost : "\(shownHost):\(port)"
    }

    /// Whether `host` is an IP literal (no SNI for those).
    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":")
            || (!host.isEmpty
                && host.utf8.allSatisfy {
                    ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
                })
    }
}

/// A finished exchange.
struct ExchangeResult: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// The connection may carry another request.
    var keepAlive: Bool
}

/// One pooled connection.
final class PooledConnection: Sendable {
    let channel: any Channel
    /// When it was last put back (monotonic), to tell a stale idle connection.
    let idleSince = Mutex<NIODeadline>(.now())

    init(channel: any Channel) {
        self.channel = channel
    }

    func isFresh(notIdleBefore limit: NIODeadline) -> Bool {
        channel.isActive && idleSince.withLock { $0 } > limit
    }
}

/// Connections per scheme, host and port: an idle one is reused, else a new one is made. Never shut down.
final class ConnectionPool: Sendable {
    let configuration: NIOHTTPTransport.Configuration
    let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let idle = Mutex<[Target.Key: [PooledConnection]]>([:])
    /// Whether a sweep of idle connections is scheduled (one at a time, only while connections are idle).
    private let sweepScheduled = Mutex(false)
    private let tls = Mutex<NIOSSLContext?>(nil)
    /// Parsed URLs: a client sends every request to the same few (its endpoint), parsing each one again cost more
    /// than signing it.
    private let targets = Mutex<[String: Target]>([:])

    private static let pools = Mutex<[NIOHTTPTransport.Configuration: ConnectionPool]>([:])

    static func shared(_ configuration: NIOHTTPTransport.Configuration) -> ConnectionPool {
        pools.withLock { pools in
            if let pool = pools[configuration] { return pool }
            let pool = ConnectionPool(configuration: configuration)
            pools[configuration] = pool
            return pool
        }
    }

    init(configuration: NIOHTTPTransport.Configuration) {
        self.configuration = configuration
    }

    /// How many connections are idle (for tests).
    var idleCount: Int { idle.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// Where `url` goes, parsed once per URL (at most 64 kept; the cache starts over when full).
    func target(of url: String) throws(TransportError) -> Target {
        if let known = targets.withLock({ $0[url] }) { return known }
        let parsed = try Target(url: url)
        targets.withLock { targets in
            if targets.count >= 64 { targets.removeAll() }
            targets[url] = parsed
        }
        return parsed
    }

    /// An open idle connection to `key`, or a new one.
    func connection(to key: Target.Key, deadline: NIODeadline) async throws -> PooledConnection {
        let now = NIODeadline.now()
        let stale = now - TimeAmount(configuration.idleTimeout)
        while let candidate = idle.withLock({ $0[key]?.popLast() }) {
            if candidate.isFresh(notIdleBefore: stale) { return candidate }
            candidate.channel.close(promise: nil)
        }
        return PooledConnection(channel: try await connect(key, deadline: deadline))
    }

    /// Puts a connection whose exchange completed back for the next request. A connection left idle longer than
    /// the idle timeout is never reused, and a sweep closes it (a timer per pool while connections are idle, not one
    /// per request).
    func release(_ connection: PooledConnection, key: Target.Key) {
        guard connection.channel.isActive else { return }
        let since = NIODeadline.now()
        connection.idleSince.withLock { $0 = since }
        idle.withLock { $0[key, default: []].append(connection) }
        scheduleSweep(on: connection.channel.eventLoop)
    }

    private func scheduleSweep(on loop: any EventLoop) {
        let first = sweepScheduled.withLock { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
        if first { sweep(after: TimeAmount(configuration.idleTimeout / 2), on: loop) }
    }

    /// Closes the connections idle longer than the idle timeout, and comes back while any are left. The flag is
    /// cleared under the idle list's lock, so a connection released meanwhile either is seen here or schedules
    /// the next sweep itself.
    private func sweep(after delay: TimeAmount, on loop: any EventLoop) {
        loop.scheduleTask(in: delay) { [self] in
            let stale = NIODeadline.now() - TimeAmount(configuration.idleTimeout)
            var expired: [PooledConnection] = []
            let more = idle.withLock { idle -> Bool in
                for (key, connections) in idle {
                    var fresh: [PooledConnection] = []
                    for connection in connections {
                        if connection.isFresh(notIdleBefore: stale) {
                            fresh.append(connection)
                        } else {
                            expired.append(connection)
                        }
                    }
                    idle[key] = fresh.isEmpty ? nil : fresh
                }
                if idle.isEmpty { sweepScheduled.withLock { $0 = false } }
                return !idle.isEmpty
            }
            for connection in expired { connection.channel.close(promise: nil) }
            if more { sweep(after: delay, on: loop) }
        }
    }

    private func tlsContext() throws -> NIOSSLContext {
        try tls.withLock { cached in
            if let cached { return cached }
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let bundle = self.configuration.caBundle {
                configuration.additionalTrustRoots = [.file(bundle)]
            }
            let context = try NIOSSLContext(configuration: configuration)
            cached = context
            return context
        }
    }

    private func connect(_ key: Target.Key, deadline: NIODeadline) async throws -> any Channel {
        let remaining = deadline - .now()
        guard remaining > .zero else {
            throw TransportError(.timeout, "no time left to connect to \(key.host):\(key.port)")
        }
        let context: NIOSSLContext?
        do {
            context = key.tls ? try tlsContext() : nil
        } catch {
            throw TransportError(.connect, "TLS set-up failed (check AWS_CA_BUNDLE): \(error)")
        }
        let serverName = key.tls && !Target.isIPAddress(key.host) ? key.host : nil
        // With TLS, the connection is handed out only once the handshake succeeded, so that a refused certificate
        // is reported as such (and before any request is written), and a silent server is bounded by the deadline.
        let handshake = Mutex<EventLoopFuture<Void>?>(nil)
        // On the caller's loop when it runs on one (under `TransportExecutor`), else on the next.
        let bootstrap = ClientBootstrap(group: group.any())
            .connectTimeout(min(TimeAmount(configuration.connectTimeout), remaining))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var promise: EventLoopPromise<Void>?
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: serverName)
                        )
                        promise = channel.eventLoop.makePromise(of: Void.self)
                        handshake.withLock { $0 = promise?.futureResult }
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler(handshake: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: key.host, port: key.port).get()
        } catch {
            throw NIOHTTPTransport.classify(error)
        }
        if let done = handshake.withLock({ $0 }) {
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
            do {
                try await done.get()
                timer.cancel()
            } catch {
                timer.cancel()
                channel.close(promise: nil)
                if let failure = error as? TransportError, failure.reason != .connect { throw failure }
                let reason = NIOHTTPTransport.classify(error)
                throw TransportError(.connect, "TLS handshake with \(key.host):\(key.port) failed: \(reason.detail)")
            }
        }
        return channel
    }
}

/// Runs one exchange at a time on its connection: writes the request, collects the response, and completes the
/// promise once (with the response, or the first failure: deadline, size cap, closed connection, error).
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private struct Pending {
        var promise: EventLoopPromise<ExchangeResult>
        var limit: Int
        var timer: Scheduled<Void>?
        var status = 0
        var headers: [(name: String, value: String)] = []
        var keepAlive = false
        var body = ByteBuffer()
    }

    static let closedBeforeSending = "the connection closed before the request was sent (nothing reached the server)"

    private var pending: Pending?
    private var context: ChannelHandlerContext?
    /// Completed when the TLS handshake succeeds, failed if the connection fails first (nil without TLS).
    private var handshake: EventLoopPromise<Void>?

    init(handshake: EventLoopPromise<Void>? = nil) {
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func begin(
        head: HTTPRequestHead,
        body: ByteBuffer?,
        limit: Int,
        deadline: NIODeadline,
        promise: EventLoopPromise<ExchangeResult>
    ) {
        guard let context, context.channel.isActive, pending == nil else {
            promise.fail(TransportError(.connect, Self.closedBeforeSending))
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.fail(TransportError(.timeout, "no complete response within the deadline"))
            context.close(promise: nil)
        }
        pending = Pending(promise: promise, limit: limit, timer: timer)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    typealias OutboundOut = HTTPClientRequestPart

    func fail(_ error: TransportError) {
        guard let current = pending else { return }
        pending = nil
        current.timer?.cancel()
        current.promise.fail(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else {
            // Nothing was asked: a server speaking out of turn. The connection is not trustworthy any more.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending?.status = Int(head.status.code)
            pending?.headers = head.headers.map { ($0.name, $0.value) }
            pending?.keepAlive = head.isKeepAlive
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > pending!.limit {
                tooLarge(context)
            }
        case .body(var part):
            guard let current = pending else { return }
            if current.body.readableBytes + part.readableBytes > current.limit {
                tooLarge(context)
                return
            }
            pending?.body.writeBuffer(&part)
        case .end:
            guard let current = pending else { return }
            pending = nil
            current.timer?.cancel()
            var body = current.body
            current.promise.succeed(
                ExchangeResult(
                    status: current.status,
                    headers: current.headers,
                    body: body.readBytes(length: body.readableBytes) ?? [],
                    keepAlive: current.keepAlive
                )
            )
        }
    }

    private func tooLarge(_ context: ChannelHandlerContext) {
        let limit = pending?.limit ?? 0
        fail(TransportError(.responseTooLarge, "the response body exceeds \(limit) bytes"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake?.fail(TransportError(.connect, "the server closed the connection during the handshake"))
        handshake = nil
        fail(TransportError(.connectionLost, "the connection closed before the whole response arrived"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake?.fail(error)
        handshake = nil
        fail(NIOHTTPTransport.classify(error))
        context.close(promise: nil)
    }
}
