import AWSSigV4
public import CostGuardCore

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The JSON that container endpoints, IMDS and `credential_process` return.
struct CredentialDocument: Decodable {
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var SessionToken: String?
    var Expiration: String?
    var Code: String?
    var Message: String?
    var Version: Int?

    func credentials(source: String) throws(AWSError) -> AWSCredentials {
        if let code = Code, code != "Success" {
            throw AWSError.credentials(source, "the endpoint answered \(code): \(Message ?? "")")
        }
        guard let key = AccessKeyId, !key.isEmpty, let secret = SecretAccessKey, !secret.isEmpty else {
            throw AWSError.credentials(source, "the answer has no AccessKeyId/SecretAccessKey")
        }
        var expiration: Timestamp?
        if let text = Expiration {
            guard let parsed = Timestamp(iso8601: text) else {
                throw AWSError.credentials(source, "the Expiration '\(text)' is not an ISO-8601 time")
            }
            expiration = parsed
        }
        return AWSCredentials(
            accessKeyID: key,
            secretAccessKey: secret,
            sessionToken: Token ?? SessionToken,
            expiration: expiration
        )
    }

    static func decode(_ bytes: [UInt8], source: String) throws(AWSError) -> CredentialDocument {
        do {
            return try JSONDecoder().decode(CredentialDocument.self, from: Data(bytes))
        } catch {
            throw AWSError.credentials(source, "the answer is not a credentials JSON document")
        }
    }
}

/// ECS/EKS Pod Identity container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (under
/// `http://169.254.170.2`) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` (loopback, the ECS/EKS link-local hosts, or
/// HTTPS), with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` sent as
/// `Authorization`.
public struct ContainerCredentialSource: CredentialSource {
    public let environment: [String: String]
    public let transport: any HTTPTransport
    public let timeout: Duration
    public var name: String { "container credentials" }

    public init(environment: [String: String], transport: any HTTPTransport, timeout: Duration = .seconds(2)) {
        self.environment = environment
        self.transport = transport
        self.timeout = timeout
    }

    static let allowedHTTPHosts: Set<String> = [
        "127.0.0.1", "localhost", "[::1]", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
    ]

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            let host = Endpoint(url: full, source: "").host.split(separator: ":").first.map(String.init) ?? ""
            let loopback =
                host.hasPrefix("127.") || Self.allowedHTTPHosts.contains(host)
                || Self.allowedHTTPHosts.contains(Endpoint(url: full, source: "").host)
            guard full.hasPrefix("https://") || (full.hasPrefix("http://") && loopback) else {
                throw AWSError.credentials(
                    name,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be HTTPS or a loopback/ECS/EKS address, not \(full)"
                )
            }
            url = full
        } else {
            return .notConfigured("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set")
        }
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AWSError.credentials(name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)")
            }
            headers.append(("Authorization", String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", token))
        }
        let response: HTTPResponse
        do {
            response = try await transport.send(
                HTTPRequest(method: "GET", url: url, headers: headers),
                timeout: timeout
            )
        } catch {
            throw AWSError.credentials(name, "no answer from \(url): \(error)")
        }
        guard response.status == 200 else {
            throw AWSError.credentials(name, "\(url) answered HTTP \(response.status)")
        }
        return .loaded(try CredentialDocument.decode(response.body, source: name).credentials(source: name))
    }
}

/// EC2 instance metadata, IMDSv2: a session token from `PUT /latest/api/token`, then the role name and its
/// credentials. Short timeouts (1 s, `AWS_METADATA_SERVICE_TIMEOUT`), `AWS_EC2_METADATA_DISABLED=true` to skip,
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` to override the address. When the token request is refused (403/404/405,
/// an old proxy) it falls back to IMDSv1 unless `AWS_EC2_METADATA_V1_DISABLED=true`, as the SDKs do.
public struct IMDSCredentialSource: CredentialSource {
    public let environment: [String: String]
    public let transport: any HTTPTransport
    public var name: String { "EC2 instance metadata (IMDSv2)" }

    public init(environment: [String: String], transport: any HTTPTransport) {
        self.environment = environment
        self.transport = transport
    }

    var endpoint: String {
        let configured = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        if let configured { return configured.hasSuffix("/") ? String(configured.dropLast()) : configured }
        return environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6"
            ? "http://[fd00:ec2::254]" : "http://169.254.169.254"
    }

    var timeout: Duration {
        .milliseconds(Int64((Double(environment["AWS_METADATA_SERVICE_TIMEOUT"] ?? "") ?? 1) * 1000))
    }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            return .notConfigured("disabled by AWS_EC2_METADATA_DISABLED")
        }
        let token: String?
        do {
            token = try await sessionToken()
        } catch let error as TransportError {
            return .notConfigured("no instance metadata service at \(endpoint) (\(error.reason.rawValue))")
        } catch let error as AWSError {
            throw error
        } catch {
            return .notConfigured("no instance metadata service at \(endpoint)")
        }
        let role = try await get("/latest/meta-data/iam/security-credentials/", token: token)
            .split(separator: "\n").first.map(String.init)
        guard let role, !role.isEmpty else {
            throw AWSError.credentials(name, "this instance has no IAM role (attach an instance profile)")
        }
        let document = try await get("/latest/meta-data/iam/security-credentials/\(role)", token: token)
        return .loaded(try CredentialDocument.decode(Array(document.utf8), source: name).credentials(source: name))
    }

    /// The region of the instance (`/latest/meta-data/placement/region`), or why there is none: the reason goes into
    /// the "no AWS region" error, so that a metadata service too slow for the timeout is told from no service at all.
    public func region() async -> Result<String, RegionUnavailable> {
        guard environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true" else {
            return .failure(RegionUnavailable(reason: "disabled by AWS_EC2_METADATA_DISABLED"))
        }
        let token: String?
        do {
            token = try await sessionToken()
        } catch let error as TransportError {
            return .failure(RegionUnavailable(reason: unreachable(error)))
        } catch {
            return .failure(RegionUnavailable(reason: "\(error)"))
        }
        do {
            return .success(try await get("/latest/meta-data/placement/region", token: token))
        } catch {
            return .failure(RegionUnavailable(reason: error.message))
        }
    }

    /// Why the metadata service gave no region.
    public struct RegionUnavailable: Error, Sendable {
        public var reason: String
    }

    private func unreachable(_ error: TransportError) -> String {
        let limit = "\(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000) ms"
        switch error.reason {
        case .timeout:
            return "no answer from \(endpoint) within \(limit) (raise AWS_METADATA_SERVICE_TIMEOUT if it is slow)"
        case .connect:
            return "no instance metadata service at \(endpoint)"
        default:
            return "\(endpoint): \(error.reason.rawValue)"
        }
    }

    /// The IMDSv2 token, or `nil` when the service refuses tokens and IMDSv1 is allowed.
    func sessionToken() async throws -> String? {
        let response = try await transport.send(
            HTTPRequest(
                method: "PUT",
                url: endpoint + "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]
            ),
            timeout: timeout
        )
        if response.status == 200 { return String(decoding: response.body, as: UTF8.self) }
        if [403, 404, 405].contains(response.status),
            environment["AWS_EC2_METADATA_V1_DISABLED"]?.lowercased() != "true"
        {
            return nil
        }
        throw AWSError.credentials(name, "the token request answered HTTP \(response.status)")
    }

    func get(_ path: String, token: String?) async throws(AWSError) -> String {
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("X-aws-ec2-metadata-token", token)) }
        let response: HTTPResponse
        do {
            response = try await transport.send(
                HTTPRequest(method: "GET", url: endpoint + path, headers: headers),
                timeout: timeout
            )
        } catch {
            throw AWSError.credentials(name, "GET \(path) failed: \(error)")
        }
        guard response.status == 200 else {
            throw AWSError.credentials(name, "GET \(path) answered HTTP \(response.status)")
        }
        return String(decoding: response.body, as: UTF8.self)
    }
}
