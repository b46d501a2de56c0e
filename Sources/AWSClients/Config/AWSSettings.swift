import CostGuardCore

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Region, profile, endpoints and retry settings resolved the way the AWS CLI resolves them.
///
/// - Region: `--region`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, the EC2 instance's
///   region from IMDS; otherwise an error saying how to set one.
/// - Profile: `--profile`, then `AWS_PROFILE` (or the older `AWS_DEFAULT_PROFILE`), else `default`. A profile named
///   explicitly makes the environment's keys ignored, as in the CLI.
/// - Endpoints: see `Endpoint.resolve`.
/// - Attempts: `AWS_MAX_ATTEMPTS`, then the profile's `max_attempts`, else 3.
public struct AWSSettings: Sendable {
    public var region: String
    /// Where the region came from, for `doctor`.
    public var regionSource: String
    public var profileName: String
    public var profileExplicit: Bool
    public var files: SharedConfigFiles
    public var environment: [String: String]
    public var maxAttempts: Int

    /// The profile the settings come from: `--profile`, then `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else `default`;
    /// `explicit` when one of those named it (an empty name counts as named, and means `default`).
    static func profileName(_ profile: String?, environment: [String: String]) -> (name: String, explicit: Bool) {
        let named = profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        return (named.flatMap { $0.isEmpty ? nil : $0 } ?? "default", named != nil)
    }

    /// The PEM file of extra certificates to trust, found as the SDKs find it: `AWS_CA_BUNDLE`, else the profile's
    /// `ca_bundle` (`~/` expanded). A file that cannot be read is an error naming where it was set, before any call.
    ///
    /// - Parameter profile: `--profile` (or the configuration file's profile), if given; else `AWS_PROFILE`,
    ///   `AWS_DEFAULT_PROFILE`, `default`, as for the other settings.
    public static func caBundle(
        environment: [String: String],
        profile: String? = nil
    ) throws(AWSError) -> (path: String, source: String)? {
        func checked(_ path: String, _ source: String) throws(AWSError) -> (path: String, source: String) {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw AWSError(
                    kind: .configuration,
                    service: "config",
                    operation: "ca_bundle",
                    message: "cannot read the CA bundle \(path) (set by \(source)). Fix: point it at a readable PEM "
                        + "file of certificates, or remove it"
                )
            }
            return (path, source)
        }
        if let path = environment["AWS_CA_BUNDLE"], !path.isEmpty { return try checked(path, "AWS_CA_BUNDLE") }
        let files = try SharedConfigFiles.load(environment: environment)
        let name = profileName(profile, environment: environment).name
        guard let value = files.profile(name)?["ca_bundle"], !value.isEmpty else { return nil }
        return try checked(
            SharedConfigFiles.expand(value, home: environment["HOME"] ?? ""),
            "ca_bundle of profile \(name) in \(files.configPath)"
        )
    }

    /// Resolves the settings.
    ///
    /// - Parameters:
    ///   - environment: the process environment (passed in, so tests control it completely).
    ///   - region: `--region`, if given.
    ///   - profile: `--profile`, if given.
    ///   - transport: used only to ask IMDS for the region when nothing else sets it.
    public static func resolve(
        environment: [String: String],
        region: String? = nil,
        profile: String? = nil,
        transport: any HTTPTransport
    ) async throws(AWSError) -> AWSSettings {
        let files = try SharedConfigFiles.load(environment: environment)
        let (profileName, explicitProfile) = Self.profileName(profile, environment: environment)
        let profileValues = files.profile(profileName)
        if explicitProfile, profileValues == nil {
            throw AWSError(
                kind: .configuration,
                service: "config",
                operation: "profile",
                message: "the profile '\(profileName)' is in neither \(files.configPath) nor \(files.credentialsPath)"
                    + (files.profileNames.isEmpty ? "" : " (found: \(files.profileNames.joined(separator: ", ")))")
            )
        }
        var candidates: [(String?, String)] = [
            (region, "--region"), (environment["AWS_REGION"], "AWS_REGION"),
            (environment["AWS_DEFAULT_REGION"], "AWS_DEFAULT_REGION"),
            (profileValues?["region"], "profile \(profileName) region"),
        ]
        var resolvedRegion: (String, String)?
        for case let (value?, source) in candidates where !value.isEmpty {
            resolvedRegion = (value, source)
            break
        }
        var metadataReason = ""
        if resolvedRegion == nil {
            switch await IMDSCredentialSource(environment: environment, transport: transport).region() {
            case .success(let imds): resolvedRegion = (imds, "EC2 instance metadata")
            case .failure(let unavailable): metadataReason = unavailable.reason
            }
        }
        candidates.removeAll()
        guard let (regionName, regionSource) = resolvedRegion else {
            throw AWSError(
                kind: .configuration,
                service: "config",
                operation: "region",
                message: "no AWS region is set (EC2 instance metadata: \(metadataReason)). Fix: pass --region, set "
                    + "AWS_REGION, or add 'region = …' to profile \(profileName) in \(files.configPath)"
            )
        }
        guard regionName.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), !regionName.isEmpty else {
            throw AWSError(
                kind: .configuration,
                service: "config",
                operation: "region",
                message: "the region '\(regionName)' from \(regionSource) is not a region name like us-east-1"
            )
        }
        let attemptsText = environment["AWS_MAX_ATTEMPTS"] ?? profileValues?["max_attempts"]
        var attempts = 3
        if let attemptsText {
            guard let value = Int(attemptsText), value >= 1 else {
                throw AWSError(
                    kind: .configuration,
                    service: "config",
                    operation: "max_attempts",
                    message: "max_attempts must be a whole number ≥ 1, not '\(attemptsText)'"
                )
            }
            attempts = value
        }
        return AWSSettings(
            region: regionName,
            regionSource: regionSource,
            profileName: profileName,
            profileExplicit: explicitProfile,
            files: files,
            environment: environment,
            maxAttempts: attempts
        )
    }

    /// Standard-mode retry settings with `maxAttempts` from the environment or profile.
    public var retryConfiguration: RetryStrategy.Configuration {
        var configuration = RetryStrategy.Configuration()
        configuration.maxAttempts = maxAttempts
        return configuration
    }

    /// The endpoint of `service` in this region.
    public func endpoint(_ service: AWSService) throws(AWSError) -> Endpoint {
        try Endpoint.resolve(
            service,
            region: region,
            environment: environment,
            profile: files.profile(profileName),
            files: files
        )
    }

    /// A client for `service` that signs with `credentials`.
    public func client(
        _ service: AWSService,
        credentials: any CredentialProvider,
        context: AWSCallContext
    ) throws(AWSError) -> AWSServiceClient {
        AWSServiceClient(
            service: service,
            region: region,
            endpoint: try endpoint(service),
            credentials: credentials,
            context: context
        )
    }

    /// The default credential chain for these settings: environment (unless a profile was named), web identity
    /// from the environment, the profile, container credentials, then IMDSv2.
    public func credentialChain(context: AWSCallContext) throws(AWSError) -> CredentialChain {
        let stsEndpoint = try endpoint(.sts)
        let region = self.region
        let makeSTS: STSClientFactory = { credentials in
            STSClient(
                client: AWSServiceClient(
                    service: .sts,
                    region: region,
                    endpoint: stsEndpoint,
                    credentials: credentials,
                    context: context
                )
            )
        }
        var sources: [any CredentialSource] = []
        if !profileExplicit { sources.append(EnvironmentCredentialSource(environment: environment)) }
        sources.append(
            WebIdentityCredentialSource(
                tokenFile: environment["AWS_WEB_IDENTITY_TOKEN_FILE"],
                roleARN: environment["AWS_ROLE_ARN"],
                sessionName: environment["AWS_ROLE_SESSION_NAME"],
                origin: "environment",
                makeSTS: makeSTS
            )
        )
        sources.append(
            ProfileCredentialSource(
                files: files,
                profileName: profileName,
                explicit: profileExplicit,
                environment: environment,
                transport: context.transport,
                makeSTS: makeSTS
            )
        )
        sources.append(ContainerCredentialSource(environment: environment, transport: context.transport))
        sources.append(IMDSCredentialSource(environment: environment, transport: context.transport))
        return CredentialChain(sources: sources, now: context.now)
    }
}
