/// The HTTP proxies AWS calls go through, read from the environment as the AWS SDKs read it (botocore through
/// urllib, the Go SDK through `httpproxy.FromEnvironment`):
///
/// - `HTTPS_PROXY` (or `https_proxy`) for `https://` endpoints, `HTTP_PROXY` (or `http_proxy`) for `http://` ones;
///   the upper-case name wins when both are set;
/// - a proxy is `http://[user:password@]host[:port]` (port 80 by default) or `host:port`; HTTPS goes through it in a
///   CONNECT tunnel, so TLS stays end to end with AWS;
/// - `NO_PROXY` (or `no_proxy`): comma-separated names that bypass the proxy: `*` for every host; a name matches
///   itself and its subdomains (`.amazonaws.com` and `amazonaws.com` alike); `host:port` only on that port; IP
///   addresses and CIDR ranges (`10.0.0.0/8`) match the addresses in them. Add the instance metadata service
///   (`169.254.169.254`) and the ECS credentials endpoint (`169.254.170.2`) there, as AWS recommends.
public struct ProxyConfiguration: Sendable, Hashable {
    /// One proxy server.
    public struct Server: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// `user:password` for Basic `Proxy-Authorization`, when the URL carries them.
        public var credentials: String?

        public init(host: String, port: Int, credentials: String? = nil) {
            self.host = host
            self.port = port
            self.credentials = credentials
        }

        /// The proxy's address, never its credentials (for logs and errors).
        public var description: String { "\(host):\(port)" }
    }

    public var https: Server?
    public var http: Server?
    public var noProxy: [String]

    public init(https: Server? = nil, http: Server? = nil, noProxy: [String] = []) {
        self.https = https
        self.http = http
        self.noProxy = noProxy
    }

    /// No proxy at all.
    public static let none = ProxyConfiguration()

    /// A bad proxy setting, naming the variable and the fix.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads the proxy variables of `environment`.
    ///
    /// - Throws: `Problem` for a proxy URL that is not `http://host[:port]` (with the variable's name, never its
    ///   credentials).
    public static func fromEnvironment(_ environment: [String: String]) throws(Problem) -> ProxyConfiguration {
        func value(_ name: String) -> (name: String, value: String)? {
            for key in [name.uppercased(), name.lowercased()] {
                if let value = environment[key], !value.isEmpty { return (key, value) }
            }
            return nil
        }
        var configuration = ProxyConfiguration()
        if let (name, text) = value("HTTPS_PROXY") { configuration.https = try server(text, variable: name) }
        if let (name, text) = value("HTTP_PROXY") { configuration.http = try server(text, variable: name) }
        if let (_, text) = value("NO_PROXY") {
            configuration.noProxy = text.split(separator: ",").map { trimmed($0).lowercased() }.filter { !$0.isEmpty }
        }
        return configuration
    }

    static func server(_ text: String, variable: String) throws(Problem) -> Server {
        var rest = Substring(trimmed(Substring(text)))
        if let range = rest.firstRange(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                throw Problem(
                    message: "\(variable) uses a \(scheme):// proxy; CostGuard supports http:// proxies (HTTPS to "
                        + "AWS goes through the proxy in a CONNECT tunnel, still encrypted end to end). Fix: write "
                        + "\(variable)=http://HOST:PORT"
                )
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var credentials: String?
        if let at = rest.lastIndex(of: "@") {
            credentials = percentDecoded(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var host = String(rest)
        var port = 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw Problem(
                    message: "\(variable) has no valid port after the host. Fix: write \(variable)=http://HOST:PORT"
                )
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw Problem(message: "\(variable) names no proxy host. Fix: write \(variable)=http://HOST:PORT")
        }
        return Server(host: host, port: port, credentials: credentials)
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// `%XX` escapes decoded (user names and passwords in proxy URLs are percent-encoded).
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The proxy for a request to `host` and `port` over `scheme` (`https` or `http`), or `nil` to connect directly.
    public func server(scheme: String, host: String, port: Int) -> Server? {
        guard let server = scheme == "https" ? https : http else { return nil }
        return bypasses(host: host.lowercased(), port: port) ? nil : server
    }

    /// Whether `NO_PROXY` says to connect to this host directly.
    func bypasses(host: String, port: Int) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        for entry in noProxy {
            if entry == "*" { return true }
            var name = Substring(entry)
            // "host:port" (not an IPv6 address, which has several colons): only that port.
            if name.filter({ $0 == ":" }).count == 1, let colon = name.lastIndex(of: ":") {
                guard Int(name[name.index(after: colon)...]) == port else { continue }
                name = name[..<colon]
            }
            if name.hasPrefix("[") && name.hasSuffix("]") { name = name.dropFirst().dropLast() }
            if name.contains("/") {
                if CIDR(String(name))?.contains(bare) == true { return true }
                continue
            }
            if name.hasPrefix("*.") { name = name.dropFirst() }
            if name.hasPrefix(".") { name = name.dropFirst() }
            if bare == name || bare.hasSuffix("." + name) { return true }
        }
        return false
    }

    /// An IPv4 range in CIDR notation (`10.0.0.0/8`).
    struct CIDR {
        var base: UInt32
        var mask: UInt32

        init?(_ text: String) {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits),
                let base = Self.ipv4(String(parts[0]))
            else { return nil }
            self.mask = bits == 0 ? 0 : UInt32.max << (32 - bits)
            self.base = base & mask
        }

        func contains(_ host: String) -> Bool {
            guard let address = Self.ipv4(host) else { return false }
            return address & mask == base
        }

        static func ipv4(_ text: String) -> UInt32? {
            let octets = text.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4 else { return nil }
            var value: UInt32 = 0
            for octet in octets {
                guard let byte = UInt8(octet) else { return nil }
                value = value << 8 | UInt32(byte)
            }
            return value
        }
    }
}
