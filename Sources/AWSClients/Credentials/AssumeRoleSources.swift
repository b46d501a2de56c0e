import AWSSigV4
public import CostGuardCore

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Makes an STS client that signs with the given credentials (or none, for web identity).
public typealias STSClientFactory = @Sendable (any CredentialProvider) -> STSClient

/// `sts:AssumeRole` with credentials from another source (`role_arn` with `source_profile` or `credential_source`).
public struct AssumeRoleCredentialSource: CredentialSource {
    public let roleARN: String
    public let sessionName: String
    public let externalID: String?
    public let durationSeconds: Int?
    public let base: any CredentialSource
    public let makeSTS: STSClientFactory

    public init(
        roleARN: String,
        sessionName: String,
        externalID: String?,
        durationSeconds: Int?,
        base: any CredentialSource,
        makeSTS: @escaping STSClientFactory
    ) {
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.externalID = externalID
        self.durationSeconds = durationSeconds
        self.base = base
        self.makeSTS = makeSTS
    }

    public var name: String { "assume role \(roleARN) from \(base.name)" }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        let baseCredentials: AWSCredentials
        switch try await base.load(now: now) {
        case .loaded(let value): baseCredentials = value
        case .notConfigured(let reason):
            throw AWSError.credentials(name, "the source credentials are missing: \(reason)")
        }
        let sts = makeSTS(StaticCredentialProvider(baseCredentials, name: base.name))
        do {
            return .loaded(
                try await sts.assumeRole(
                    roleARN: roleARN,
                    sessionName: sessionName,
                    externalID: externalID,
                    durationSeconds: durationSeconds
                )
            )
        } catch {
            throw AWSError.credentials(name, "could not assume the role: \(error)")
        }
    }
}

/// `sts:AssumeRoleWithWebIdentity` with a token read from a file (EKS IRSA, GitHub OIDC, …), from
/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`) or the profile keys
/// `web_identity_token_file`, `role_arn`, `role_session_name`. The file is read again at every refresh, since the
/// platform rotates it.
public struct WebIdentityCredentialSource: CredentialSource {
    public let tokenFile: String?
    public let roleARN: String?
    public let sessionName: String
    public let origin: String
    public let makeSTS: STSClientFactory

    public init(
        tokenFile: String?,
        roleARN: String?,
        sessionName: String?,
        origin: String,
        makeSTS: @escaping STSClientFactory
    ) {
        self.tokenFile = tokenFile.flatMap { $0.isEmpty ? nil : $0 }
        self.roleARN = roleARN.flatMap { $0.isEmpty ? nil : $0 }
        self.sessionName =
            sessionName.flatMap { $0.isEmpty ? nil : $0 } ?? "costguard-\(Int(Date().timeIntervalSince1970))"
        self.origin = origin
        self.makeSTS = makeSTS
    }

    public var name: String { "web identity (\(origin))" }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        guard let tokenFile else { return .notConfigured("AWS_WEB_IDENTITY_TOKEN_FILE is not set") }
        guard let roleARN else {
            throw AWSError.credentials(
                name,
                "a web identity token file is set but no role ARN (AWS_ROLE_ARN or role_arn)"
            )
        }
        guard let data = FileManager.default.contents(atPath: tokenFile), !data.isEmpty else {
            throw AWSError.credentials(name, "cannot read the web identity token file \(tokenFile)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines
        let sts = makeSTS(StaticCredentialProvider(AWSCredentials(accessKeyID: "", secretAccessKey: ""), name: "none"))
        do {
            return .loaded(
                try await sts.assumeRoleWithWebIdentity(roleARN: roleARN, sessionName: sessionName, token: token)
            )
        } catch {
            throw AWSError.credentials(name, "could not assume \(roleARN) with the web identity token: \(error)")
        }
    }
}
