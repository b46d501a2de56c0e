internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix

/// A small HTTP server for `/metrics` (Prometheus text format) and `/healthz`, on loopback by default.
public final class MetricsServer: Sendable {
    private let channel: any Channel

    /// Starts listening.
    ///
    /// - Parameters:
    ///   - host: address to bind (default configuration: 127.0.0.1).
    ///   - port: TCP port (default configuration: 9464).
    ///   - metrics: renders the Prometheus text exposition.
    ///   - health: `nil` when healthy, else why not (answered with 503).
    public init(
        host: String,
        port: Int,
        metrics: @escaping @Sendable () -> String,
        health: @escaping @Sendable () -> String?
    ) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(metrics: metrics, health: health))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// The port actually bound.
    public var port: Int { channel.localAddress?.port ?? 0 }

    public func close() async {
        try? await channel.close()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let metrics: @Sendable () -> String
        let health: @Sendable () -> String?
        var path = "/"

        init(metrics: @escaping @Sendable () -> String, health: @escaping @Sendable () -> String?) {
            self.metrics = metrics
            self.health = health
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                path = String(head.uri.split(separator: "?").first ?? "/")
            case .body:
                break
            case .end:
                let status: HTTPResponseStatus
                let body: String
                var contentType = "text/plain; charset=utf-8"
                switch path {
                case "/metrics":
                    status = .ok
                    body = metrics()
                    contentType = "text/plain; version=0.0.4; charset=utf-8"
                case "/healthz":
                    if let problem = health() {
                        status = .serviceUnavailable
                        body = "unhealthy: \(problem)\n"
                    } else {
                        status = .ok
                        body = "ok\n"
                    }
                default:
                    status = .notFound
                    body = "not found: try /metrics or /healthz\n"
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: contentType)
                headers.add(name: "Content-Length", value: String(body.utf8.count))
                headers.add(name: "Connection", value: "close")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                    promise: nil
                )
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                // The completion runs on the channel's event loop: the context is used there only.
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
            }
        }
    }
}
