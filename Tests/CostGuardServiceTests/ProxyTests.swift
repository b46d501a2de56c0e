import AWSClients
import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// AWS calls through an HTTP proxy, as the AWS SDKs take it from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`: the real
/// binary against the emulator through a loopback CONNECT proxy (Tests/Emulator/connect_proxy.py).
@Suite("Proxies", .serialized)
struct ProxyTests {
    @Test("HTTP_PROXY, NO_PROXY and Basic credentials: a real pass through a loopback CONNECT proxy")
    func throughProxy() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting"])
        defer { world.emulator.stop() }
        let directory = try TestPaths.temporaryDirectory()
        let log = directory + "/proxy.log"
        let port = freeLoopbackPort()
        let proxy = try await BackgroundProcess.start(
            TestPaths.python,
            [
                TestPaths.emulatorScript("connect_proxy.py"), "--port", "\(port)", "--log", log, "--credentials",
                "ops:s3cr@t",
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            readyPrefix: "ready"
        )
        defer { proxy.stop() }
        func tunnels() throws -> [String] {
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let emulatorAuthority = world.emulator.endpoint.replacingOccurrences(of: "http://", with: "")

        // The right credentials (percent-encoded in the URL, as curl and the SDKs take them): the pass goes through
        // the proxy and terminates the orphan.
        var environment = world.environment
        environment["HTTP_PROXY"] = "http://ops:s3cr%40t@127.0.0.1:\(port)"
        let proxied = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database, "--grace", "0s", "--redrive-grace", "0s"],
            environment: environment
        )
        #expect(proxied.status == 0, "\(proxied.stderr)")
        let opened = try tunnels()
        #expect(opened.contains("CONNECT \(emulatorAuthority)"), "\(opened)")
        #expect(!proxied.stderr.contains("s3cr"), "the proxy password never reaches the output")

        // NO_PROXY names the endpoint's host: no tunnel.
        let before = try tunnels().count
        environment["NO_PROXY"] = "example.com, 127.0.0.1"
        let direct = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database],
            environment: environment
        )
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(try tunnels().count == before)
        environment["NO_PROXY"] = nil

        // Wrong credentials: the proxy answers 407; the pass fails naming the proxy and the fix, not the password.
        environment["HTTP_PROXY"] = "http://ops:wrong-pw@127.0.0.1:\(port)"
        let refused = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database],
            environment: environment
        )
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("proxy"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("wrong-pw"), "\(refused.stderr)")
        #expect(try tunnels().contains { $0.hasPrefix("REFUSED ") })

        // An https:// proxy URL is refused at start with the fix (exit 78).
        environment["HTTP_PROXY"] = "https://127.0.0.1:\(port)"
        let badURL = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database],
            environment: environment
        )
        #expect(badURL.status == ExitStatus.configuration.rawValue, "\(badURL.stderr)")
        #expect(badURL.stderr.contains("HTTP_PROXY=http://HOST:PORT"), "\(badURL.stderr)")
    }

    @Test("the proxy variables are read as the AWS SDKs read them")
    func environment() throws {
        let both = try ProxyConfiguration.fromEnvironment([
            "HTTPS_PROXY": "http://proxy.corp:3128", "https_proxy": "http://ignored:1", "http_proxy": "proxy.corp:8080",
            "NO_PROXY": " .internal.corp, 169.254.169.254,10.0.0.0/8,api.local:8443 ,",
        ])
        #expect(both.https == ProxyConfiguration.Server(host: "proxy.corp", port: 3128))
        #expect(both.http == ProxyConfiguration.Server(host: "proxy.corp", port: 8080))
        #expect(both.noProxy == [".internal.corp", "169.254.169.254", "10.0.0.0/8", "api.local:8443"])
        let host = "states.us-east-1.amazonaws.com"
        #expect(both.server(scheme: "https", host: host, port: 443)?.host == "proxy.corp")
        #expect(both.server(scheme: "https", host: "emr.internal.corp", port: 443) == nil, "a subdomain")
        #expect(both.server(scheme: "https", host: "internal.corp", port: 443) == nil, "the domain itself")
        #expect(both.server(scheme: "https", host: "notinternal.corp", port: 443) != nil, "not a suffix of a label")
        #expect(both.server(scheme: "http", host: "169.254.169.254", port: 80) == nil)
        #expect(both.server(scheme: "https", host: "10.1.2.3", port: 443) == nil, "inside the CIDR range")
        #expect(both.server(scheme: "https", host: "11.1.2.3", port: 443) != nil)
        #expect(both.server(scheme: "https", host: "api.local", port: 8443) == nil)
        #expect(both.server(scheme: "https", host: "api.local", port: 443) != nil, "another port")
        let all = try ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "http://p:1", "no_proxy": "*"])
        #expect(all.server(scheme: "https", host: host, port: 443) == nil)
        let secret = try ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "http://user:p%40ss%3Aword@p:3128"])
        #expect(secret.https?.credentials == "user:p@ss:word")
        #expect(!"\(secret.https!)".contains("p@ss"), "the description never shows the credentials")
        #expect(try ProxyConfiguration.fromEnvironment(["HTTP_PROXY": "http://p"]).http?.port == 80)
        #expect(try ProxyConfiguration.fromEnvironment([:]) == .none)
        for bad in ["socks5://p:1080", "https://p:443", "http://p:notaport", "http://:8080"] {
            #expect(throws: ProxyConfiguration.Problem.self, "\(bad)") {
                try ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": bad])
            }
        }
    }
}
