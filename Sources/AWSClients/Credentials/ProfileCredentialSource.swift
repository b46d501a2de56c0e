import AWSSigV4
public import CostGuardCore

/// Credentials from a profile of the shared files, in the forms the AWS CLI accepts:
/// - `role_arn` with `source_profile` (followed recursively, cycles refused) or `credential_source`
///   (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), through `sts:AssumeRole`;
/// - `role_arn` with `web_identity_token_file`, through `sts:AssumeRoleWithWebIdentity`;
/// - `credential_process`;
/// - `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`).
public struct ProfileCredentialSource: CredentialSource {
    public let files: SharedConfigFiles
    public let profileName: String
    /// Whether the profile was asked for (`--profile`, `AWS_PROFILE`): then a missing profile is an error.
    public let explicit: Bool
    public let environment: [String: String]
    public let transport: any HTTPTransport
    public let makeSTS: STSClientFactory

    public init(
        files: SharedConfigFiles,
        profileName: String,
        explicit: Bool,
        environment: [String: String],
        transport: any HTTPTransport,
        makeSTS: @escaping STSClientFactory
    ) {
        self.files = files
        self.profileName = profileName
        self.explicit = explicit
        self.environment = environment
        self.transport = transport
        self.makeSTS = makeSTS
    }

    public var name: String { "profile \(profileName)" }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        guard files.profile(profileName) != nil else {
            let message = "no profile '\(profileName)' in \(files.configPath) or \(files.credentialsPath)"
            if explicit {
                throw AWSError.credentials(
                    name,
                    message + " (profiles there: \(files.profileNames.joined(separator: ", ")))"
                )
            }
            return .notConfigured(message)
        }
        let source = try resolve(profileName, visited: [])
        guard let source else {
            return .notConfigured("profile \(profileName) has no credentials settings")
        }
        return try await source.load(now: now)
    }

    /// The source a profile stands for, or `nil` when it holds no credential settings.
    func resolve(_ name: String, visited: [String]) throws(AWSError) -> (any CredentialSource)? {
        guard let profile = files.profile(name) else {
            throw AWSError.credentials(
                self.name,
                "profile \(visited.last ?? name) names source_profile \(name), which does not exist"
            )
        }
        if visited.contains(name) {
            throw AWSError.credentials(
                self.name,
                "source_profile loop: \((visited + [name]).joined(separator: " → "))"
            )
        }
        let staticKeys: (any CredentialSource)? = {
            guard let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"] else {
                return nil
            }
            return StaticCredentialProvider(
                AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: profile["aws_session_token"]),
                name: "profile \(name) keys"
            )
        }()
        if let roleARN = profile["role_arn"] {
            if profile["mfa_serial"] != nil {
                throw AWSError.credentials(
                    self.name,
                    "profile \(name) requires MFA (mfa_serial), which a daemon cannot prompt for; "
                        + "use a role without MFA for CostGuard"
                )
            }
            let session = profile["role_session_name"] ?? "costguard"
            let duration = profile["duration_seconds"].flatMap { Int($0) }
            if let tokenFile = profile["web_identity_token_file"] {
                return WebIdentityCredentialSource(
                    tokenFile: tokenFile,
                    roleARN: roleARN,
                    sessionName: session,
                    origin: "profile \(name)",
                    makeSTS: makeSTS
                )
            }
            let base: any CredentialSource
            if let sourceProfile = profile["source_profile"] {
                if sourceProfile == name, let staticKeys {
                    base = staticKeys
                } else {
                    guard let resolved = try resolve(sourceProfile, visited: visited + [name]) else {
                        throw AWSError.credentials(
                            self.name,
                            "source_profile \(sourceProfile) of profile \(name) has no credentials"
                        )
                    }
                    base = resolved
                }
            } else if let credentialSource = profile["credential_source"] {
                switch credentialSource {
                case "Environment": base = EnvironmentCredentialSource(environment: environment)
                case "Ec2InstanceMetadata": base = IMDSCredentialSource(environment: environment, transport: transport)
                case "EcsContainer": base = ContainerCredentialSource(environment: environment, transport: transport)
                default:
                    throw AWSError.credentials(
                        self.name,
                        "profile \(name): credential_source '\(credentialSource)' is not one of "
                            + "Environment, Ec2InstanceMetadata, EcsContainer"
                    )
                }
            } else {
                throw AWSError.credentials(
                    self.name,
                    "profile \(name) has role_arn but neither source_profile, credential_source nor "
                        + "web_identity_token_file"
                )
            }
            return AssumeRoleCredentialSource(
                roleARN: roleARN,
                sessionName: session,
                externalID: profile["external_id"],
                durationSeconds: duration,
                base: base,
                makeSTS: makeSTS
            )
        }
        if profile["sso_session"] != nil || profile["sso_start_url"] != nil {
            throw AWSError.credentials(
                self.name,
                "profile \(name) uses IAM Identity Center (SSO), which CostGuard does not support; "
                    + "give it a role (role_arn + credential_source) or a credential_process"
            )
        }
        if let command = profile["credential_process"] {
            return ProcessCredentialSource(command: command, profile: name)
        }
        return staticKeys
    }
}
