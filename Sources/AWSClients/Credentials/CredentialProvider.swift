public import AWSSigV4
public import CostGuardCore

/// Gives the credentials to sign with. The real one is `CredentialChain`; tests use `StaticCredentialProvider`.
public protocol CredentialProvider: Sendable {
    /// Current, unexpired credentials.
    func credentials() async throws(AWSError) -> AWSCredentials
}

/// What one place in the chain found.
public enum CredentialLoad: Sendable {
    /// This source is not configured here; the reason says why (for the "tried …" error).
    case notConfigured(String)
    /// Credentials, possibly temporary.
    case loaded(AWSCredentials)
}

/// One place credentials can come from: the environment, a profile, web identity, a container endpoint, IMDS.
///
/// `load` answers `notConfigured` when its settings are absent, so the chain moves on; it throws when the source is
/// configured but fails (a role that cannot be assumed, a token file that cannot be read). The chain then stops
/// with that error rather than falling through to a source the user did not mean, as the AWS CLI does.
public protocol CredentialSource: Sendable {
    /// How the source is named in messages: `environment`, `profile dev (assume role …)`, `IMDSv2`.
    var name: String { get }
    func load(now: Timestamp) async throws(AWSError) -> CredentialLoad
}

/// Fixed credentials.
public struct StaticCredentialProvider: CredentialProvider, CredentialSource {
    public let value: AWSCredentials
    public let name: String

    public init(_ value: AWSCredentials, name: String = "static") {
        self.value = value
        self.name = name
    }

    public func credentials() async throws(AWSError) -> AWSCredentials { value }
    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad { .loaded(value) }
}

extension AWSError {
    /// A credentials failure from `source`.
    static func credentials(_ source: String, _ message: String) -> AWSError {
        AWSError(kind: .credentials, service: "credentials", operation: source, message: message)
    }
}
