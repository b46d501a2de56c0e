internal import NIOCore

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
