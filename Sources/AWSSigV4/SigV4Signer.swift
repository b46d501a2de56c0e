public import CostGuardCore
internal import Crypto
internal import Synchronization

/// Signs requests with AWS Signature Version 4 (header signing). Pure: the time is an argument.
///
/// Follows the SigV4 specification as the official SDKs implement it: header names lower-cased and sorted,
/// values trimmed with inner whitespace collapsed, repeated headers joined with commas, query parameters
/// encoded with RFC 3986 unreserved characters only and sorted by name then value, and the path normalised
/// (dot segments and empty segments removed) and URI-encoded a second time for every service but S3.
public struct SigV4Signer: Sendable {
    /// Per-service differences.
    public struct Options: Sendable {
        /// Remove `.`/`..` and empty path segments before signing. `true` for every service but S3.
        public var normalizePath = true
        /// URI-encode the (already encoded) wire path again for the canonical request. `true` but for S3.
        public var doubleEncodePath = true
        /// Add and sign `X-Amz-Content-Sha256` (S3 style). Default `false`.
        public var signPayloadHeader = false
        /// Add `X-Amz-Security-Token` after signing instead of signing it (a few services require this).
        public var omitSessionTokenFromSignature = false

        public init() {}

        /// S3's rules: no normalisation, single encoding, payload hash header.
        public static var s3: Options {
            var options = Options()
            options.normalizePath = false
            options.doubleEncodePath = false
            options.signPayloadHeader = true
            return options
        }
    }

    /// Headers the SDKs never sign, because proxies may change them.
    static let unsignedHeaders: Set<String> = [
        "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id", "authorization",
    ]

    public var credentials: AWSCredentials
    public var region: String
    /// The signing name: `states`, `elasticmapreduce`, `sts`, …
    public var service: String
    public var options: Options

    public init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    /// Signs `request` as of `date`.
    ///
    /// - Parameter keys: keeps the derived signing key between calls (it depends only on the secret, the day, the
    ///   region and the service), so that a client saves four HMACs per request. The signature is the same.
    public func sign(_ request: SigV4Request, at date: Timestamp, keys: SigV4KeyCache? = nil) -> SigV4Signature {
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        var headers = request.headers
        var added: [(String, String)] = [("X-Amz-Date", amzDate)]
        headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            headers.append(("X-Amz-Security-Token", token))
            added.append(("X-Amz-Security-Token", token))
        }
        if options.signPayloadHeader {
            headers.append(("X-Amz-Content-Sha256", request.payloadHash))
            added.append(("X-Amz-Content-Sha256", request.payloadHash))
        }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            // The two common cases without making new strings: an upper-case method (`POST`) and the root path.
            request.method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
                ? request.method : request.method.uppercased(),
            request.path == "/" ? "/" : canonicalPath(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        // The signing key's HMAC, keyed once per day and credentials when a cache is given (copied, then fed).
        var mac = keys?.mac(for: self, day: day) ?? HMAC<SHA256>(key: signingKey(day: day))
        mac.update(data: Array(stringToSign.utf8))
        let signature = Self.hex(mac.finalize())
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            added.append(("X-Amz-Security-Token", token))
        }
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
                    + "Signature=\(signature)"
            )
        )
        return SigV4Signature(
            headers: added,
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            signedHeaders: signedHeaders
        )
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    func signingKey(day: String) -> SymmetricKey {
        let kSecret = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        let kDate = HMAC<SHA256>.authenticationCode(for: Array(day.utf8), using: kSecret)
        let kRegion = HMAC<SHA256>.authenticationCode(for: Array(region.utf8), using: SymmetricKey(data: kDate))
        let kService = HMAC<SHA256>.authenticationCode(for: Array(service.utf8), using: SymmetricKey(data: kRegion))
        let kSigning = HMAC<SHA256>.authenticationCode(
            for: Array("aws4_request".utf8),
            using: SymmetricKey(data: kService)
        )
        return SymmetricKey(data: kSigning)
    }

    /// The canonical URI.
    func canonicalPath(_ path: String) -> String {
        var result = path.isEmpty ? "/" : path
        if options.normalizePath { result = Self.normalize(result) }
        return options.doubleEncodePath ? Self.uriEncode(result, keepSlash: true) : result
    }

    /// Removes `.` and `..` segments (RFC 3986 §5.2.4) and empty segments, as botocore does: a trailing slash is
    /// kept when the path ends with one and something is left.
    static func normalize(_ path: String) -> String {
        var segments: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            switch part {
            case "", ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return (path.hasPrefix("/") ? "/" : "") + segments.joined(separator: "/") + trailing
    }

    /// Sorted, encoded `name=value` pairs joined with `&`.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? bytewise($0.1, $1.1) : bytewise($0.0, $1.0) }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-cased, sorted headers with normalised values, and the `;`-joined list of their names.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        // A request has a handful of headers: a sorted array, not a dictionary of arrays. Sorted by name, then by
        // position, so that a repeated header's values keep their order.
        var entries: [(name: String, position: Int, value: String)] = []
        entries.reserveCapacity(headers.count)
        for (position, (name, value)) in headers.enumerated() {
            let key = lowercasedASCII(name)
            if unsignedHeaders.contains(key) { continue }
            entries.append((key, position, collapseWhitespace(value)))
        }
        entries.sort { $0.name == $1.name ? $0.position < $1.position : bytewise($0.name, $1.name) }
        var lines = ""
        var names = ""
        lines.reserveCapacity(entries.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 })
        var index = 0
        while index < entries.count {
            let name = entries[index].name
            if !names.isEmpty { names += ";" }
            names += name
            lines += name
            lines += ":"
            lines += entries[index].value
            index += 1
            while index < entries.count && entries[index].name == name {
                lines += ","
                lines += entries[index].value
                index += 1
            }
            lines += "\n"
        }
        return (lines, names)
    }

    /// `text.lowercased()`, without a new string when it has no upper-case ASCII letter (most header names here).
    static func lowercasedASCII(_ text: String) -> String {
        text.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) ? text.lowercased() : text
    }

    /// Trims and collapses runs of whitespace (spaces, tabs, folded lines) to one space.
    static func collapseWhitespace(_ value: String) -> String {
        // Most values have nothing to collapse: no tab or line break, no space at either end or after another.
        var previousSpace = true
        var clean = true
        for byte in value.utf8 {
            let space = byte == UInt8(ascii: " ")
            if byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || (space && previousSpace)
            {
                clean = false
                break
            }
            previousSpace = space
        }
        if clean && !previousSpace { return value }
        return value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(
            separator: " "
        )
    }

    /// RFC 3986 encoding: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when `keepSlash`) as `%XX` of its UTF-8.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        if text.utf8.allSatisfy({ isUnreserved($0) || ($0 == UInt8(ascii: "/") && keepSlash) }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (byte == UInt8(ascii: "/") && keepSlash) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.append("%")
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// RFC 3986's unreserved characters: `A-Z a-z 0-9 - _ . ~`.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Byte order, as the SDKs sort (Swift's `<` on `String` is Unicode-aware, not bytewise).
    static func bytewise(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    /// `yyyyMMdd'T'HHmmss'Z'`.
    public static func amzDate(_ date: Timestamp) -> String {
        let iso = Array(Timestamp(millisecondsSinceEpoch: date.millisecondsSinceEpoch / 1000 * 1000).iso8601.utf8)
        // 2015-08-30T12:36:00.000Z → 20150830T123600Z
        return String(
            decoding: iso.prefix(19).filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") } + [
                UInt8(ascii: "Z")
            ],
            as: UTF8.self
        )
    }

    /// Lower-case hex of a digest or MAC.
    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(lowerHex[Int(byte >> 4)])
            out.append(lowerHex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex SHA-256 of `bytes`: the payload hash of a body.
    public static func payloadHash(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}

/// The last signing key a client derived, with what it was derived from (see `SigV4Signer.sign(_:at:keys:)`).
public final class SigV4KeyCache: Sendable {
    private struct Entry: Sendable {
        var secret: String
        var day: String
        var region: String
        var service: String
        /// An HMAC keyed with the signing key and fed nothing yet: each signature starts from a copy.
        var mac: HMAC<SHA256>
    }

    private let entry = Mutex<Entry?>(nil)

    public init() {}

    /// An HMAC keyed with the signing key of `signer`'s secret, region and service on `day`: the cached one when all
    /// four match, else a new one (which replaces it).
    func mac(for signer: SigV4Signer, day: String) -> HMAC<SHA256> {
        let secret = signer.credentials.secretAccessKey
        if let cached = entry.withLock({ $0 }), cached.day == day, cached.region == signer.region,
            cached.service == signer.service, cached.secret.utf8.elementsEqual(secret.utf8)
        {
            return cached.mac
        }
        let mac = HMAC<SHA256>(key: signer.signingKey(day: day))
        entry.withLock {
            $0 = Entry(secret: secret, day: day, region: signer.region, service: signer.service, mac: mac)
        }
        return mac
    }
}
