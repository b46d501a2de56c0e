import AWSSigV4
public import CostGuardCore

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (or the older `AWS_SECURITY_TOKEN`).
public struct EnvironmentCredentialSource: CredentialSource {
    public let environment: [String: String]
    public var name: String { "environment" }

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case (nil, nil):
            return .notConfigured("AWS_ACCESS_KEY_ID is not set")
        case (_?, nil):
            throw AWSError.credentials(name, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both")
        case (nil, _?):
            throw AWSError.credentials(name, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both")
        case (let key?, let secret?):
            let token = environment["AWS_SESSION_TOKEN"] ?? environment["AWS_SECURITY_TOKEN"]
            let expiration = environment["AWS_CREDENTIAL_EXPIRATION"].flatMap(Timestamp.init(iso8601:))
            return .loaded(
                AWSCredentials(
                    accessKeyID: key,
                    secretAccessKey: secret,
                    sessionToken: token?.isEmpty == true ? nil : token,
                    expiration: expiration
                )
            )
        }
    }
}
