import CostGuardTestKit
import Foundation
import NIOHTTP1
import NIOSSL
import Testing

@testable import AWSClients

/// The HTTP transport against a scripted server on loopback (plain and TLS): connection reuse, the size cap, the
/// deadline, refused connections, certificate verification. Serialized: one deadline is measured in wall time.
@Suite("HTTP transport (async-http-client) against a scripted server", .serialized)
struct HTTPTransportTests {
    static let ok: [String: any Sendable] = ["body": ["json": ["ok": true]]]

    func post(_ url: String) -> HTTPRequest {
        HTTPRequest(
            method: "POST",
            url: url + "/",
            headers: [("Content-Type", "application/x-amz-json-1.0")],
            body: Array("{}".utf8)
        )
    }

    @Test(
        "URLs: scheme, host, port, request target and Host header",
        arguments: [
            (
                "https://states.us-east-1.amazonaws.com/", true, "states.us-east-1.amazonaws.com", 443, "/",
                "states.us-east-1.amazonaws.com"
            ),
            ("http://127.0.0.1:5000/", false, "127.0.0.1", 5000, "/", "127.0.0.1:5000"),
            (
                "http://169.254.169.254/latest/api/token", false, "169.254.169.254", 80, "/latest/api/token",
                "169.254.169.254"
            ),
            (
                "http://[fd00:ec2::254]/latest/meta-data/?a=b", false, "fd00:ec2::254", 80, "/latest/meta-data/?a=b",
                "[fd00:ec2::254]"
            ),
            ("HTTPS://example.com:8443?x=1#frag", true, "example.com", 8443, "/?x=1", "example.com:8443"),
        ]
    )
    func targets(url: String, tls: Bool, host: String, port: Int, uri: String, hostHeader: String) throws {
        let target = try Target(url: url)
        #expect(target.key == Target.Key(tls: tls, host: host, port: port))
        #expect(target.uri == uri)
        #expect(target.hostHeader == hostHeader)
    }

    @Test("header names match ASCII case-insensitively, byte for byte otherwise")
    func headerLookup() {
        let response = HTTPResponse(
            status: 200,
            headers: [
                ("x-amzn-RequestId", "r-1"), ("Date", "d"), ("X-AMZN-ERRORTYPE", "Throttling"), ("x-[", "bracket"),
                ("straße", "s"),
            ]
        )
        #expect(response.header("X-Amzn-RequestID") == "r-1")
        #expect(response.header("date") == "d")
        #expect(response.header("x-amzn-errortype") == "Throttling")
        #expect(response.header("x-amzn-requestid ") == nil)
        #expect(response.header("x-amzn-request-id") == nil)
        // Only letters fold: `[` and `{` differ by the same bit as `A` and `a`.
        #expect(response.header("x-{") == nil)
        #expect(response.header("x-[") == "bracket")
        // Not Unicode case folding (header names are ASCII tokens): the bytes must be equal.
        #expect(response.header("STRASSE") == nil)
        #expect(response.header("straße") == "s")
    }

    @Test(
        "URLs it refuses, naming what is wrong",
        arguments: [
            ("ftp://example.com/", "only http:// and https://"), ("example.com/", "not an absolute"),
            ("http://user:pw@example.com/", "user information"), ("http://example.com:99999/", "bad port"),
            ("http://example.com:x/", "bad port"), ("http:///", "no host"),
        ]
    )
    func badTargets(url: String, message: String) async {
        let error = #expect(throws: TransportError.self) { try Target(url: url) }
        #expect(error?.detail.contains(message) == true, "\(String(describing: error))")
        // The transport refuses it before any connection, with the same words.
        let refused = await #expect(throws: TransportError.self) {
            try await AsyncHTTPClientTransport().send(HTTPRequest(method: "POST", url: url), timeout: .seconds(1))
        }
        #expect(refused?.detail.contains(message) == true, "\(String(describing: refused))")
    }

    @Test("TLS failures: only a failed handshake counts as nothing sent; an unclean shutdown may follow a request")
    func tlsClassification() {
        let classify = { (error: any Error) in AsyncHTTPClientTransport.transportError(error, proxy: nil).reason }
        #expect(classify(NIOSSLError.uncleanShutdown) == .connectionLost)
        #expect(classify(NIOSSLError.handshakeFailed(.unknownError([]))) == .connect)
        #expect(classify(NIOSSLError.readInInvalidTLSState) == .connectionLost)
        #expect(classify(HTTPParserError.invalidEOFState) == .connectionLost)
    }

    @Test("keep-alive: sequential requests share one connection; a response with Connection: close ends it")
    func keepAlive() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["times": 1, "path": "/close", "headers": ["Connection": "close"], "body": "bye"], Self.ok,
        ])
        defer { server.stop() }
        let transport = AsyncHTTPClientTransport()
        for _ in 0..<5 {
            let response = try await transport.send(post(server.url), timeout: .seconds(10))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok": true}"#)
        }
        let closing = try await transport.send(
            HTTPRequest(method: "GET", url: server.url + "/close"),
            timeout: .seconds(10)
        )
        #expect(String(decoding: closing.body, as: UTF8.self) == "bye")
        let after = try await transport.send(post(server.url), timeout: .seconds(10))
        #expect(after.status == 200)
        let peers = try server.requests().map(\.peer)
        #expect(peers.count == 7)
        #expect(Set(peers[0..<6]).count == 1, "the first six requests came over one connection: \(peers)")
        #expect(peers[6] != peers[5], "after Connection: close, a new connection: \(peers)")
        let hosts = try server.requests().map { request in
            request.headers.first { $0.key.lowercased() == "host" }?.value
        }
        #expect(hosts.allSatisfy { $0 == "127.0.0.1:\(server.port)" }, "\(hosts)")
        #expect(try server.requests()[0].headers["Content-Length"] == "2")
    }

    @Test("a body over the cap fails as responseTooLarge and the next request gets a fresh connection")
    func sizeCap() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["times": 1, "body": String(repeating: "x", count: 5000)], Self.ok,
        ])
        defer { server.stop() }
        var configuration = AsyncHTTPClientTransport.Configuration()
        configuration.maxResponseBytes = 1000
        let transport = AsyncHTTPClientTransport(configuration: configuration)
        let error = await #expect(throws: TransportError.self) {
            try await transport.send(post(server.url), timeout: .seconds(10))
        }
        #expect(error?.reason == .responseTooLarge, "\(String(describing: error))")
        #expect(try await transport.send(post(server.url), timeout: .seconds(10)).status == 200)
    }

    @Test("no complete response within the deadline: timeout, promptly")
    func deadline() async throws {
        let server = try await ScriptedServer.start(rules: [["delay": 5, "body": "late"]])
        defer { server.stop() }
        let started = ContinuousClock.now
        let error = await #expect(throws: TransportError.self) {
            try await AsyncHTTPClientTransport().send(self.post(server.url), timeout: .milliseconds(500))
        }
        #expect(error?.reason == .timeout, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test("nothing listening: a connect error")
    func refused() async throws {
        let port = freeLoopbackPort()
        let error = await #expect(throws: TransportError.self) {
            try await AsyncHTTPClientTransport().send(self.post("http://127.0.0.1:\(port)"), timeout: .seconds(5))
        }
        #expect(error?.reason == .connect, "\(String(describing: error))")
    }

    @Test("a truncated body and a reset connection end as connectionLost")
    func broken() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["times": 1, "truncate": true, "body": String(repeating: "y", count: 4000)], ["times": 1, "reset": true],
            Self.ok,
        ])
        defer { server.stop() }
        let transport = AsyncHTTPClientTransport()
        for _ in 0..<2 {
            let error = await #expect(throws: TransportError.self) {
                try await transport.send(post(server.url), timeout: .seconds(10))
            }
            #expect(error?.reason == .connectionLost, "\(String(describing: error))")
        }
        #expect(try await transport.send(post(server.url), timeout: .seconds(10)).status == 200)
    }

    @Test(
        "TLS: an untrusted certificate is refused; trusted through AWS_CA_BUNDLE or a profile's ca_bundle, it works for the host name"
    )
    func tls() async throws {
        let server = try await ScriptedServer.start(rules: [Self.ok], tls: true)
        defer { server.stop() }
        let url = "https://localhost:\(server.port)"
        let refused = await #expect(throws: TransportError.self) {
            try await AsyncHTTPClientTransport().send(self.post(url), timeout: .seconds(10))
        }
        #expect(refused?.reason == .connect, "\(String(describing: refused))")
        #expect(refused?.detail.contains("TLS") == true, "\(String(describing: refused))")
        let caBundle: String = try #require(server.caBundle)
        let trusting = AsyncHTTPClientTransport(caBundle: caBundle)
        for _ in 0..<3 {
            let response = try await trusting.send(post(url), timeout: .seconds(10))
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok": true}"#)
        }
        let peers = try server.requests().map(\.peer)
        #expect(peers.count == 3, "the refused handshake sent no request: \(peers)")
        #expect(Set(peers).count == 1, "TLS connections are reused too: \(peers)")
        // The same CA named by the profile's ca_bundle.
        let home = try temporaryHome()
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try "[profile corp]\nca_bundle = \(try #require(server.caBundle))\n".write(
            toFile: home + "/.aws/config",
            atomically: true,
            encoding: .utf8
        )
        let bundle = try AWSSettings.caBundle(environment: ["HOME": home, "AWS_PROFILE": "corp"])
        let response = try await AsyncHTTPClientTransport(caBundle: bundle?.path).send(post(url), timeout: .seconds(10))
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok": true}"#)
    }
}
