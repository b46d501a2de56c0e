public import AWSSigV4
import CostGuardCore

/// AWS Security Token Service (query protocol, XML answers).
public struct STSClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    /// Who the credentials belong to.
    public struct CallerIdentity: Sendable, Equatable {
        public var account: String
        public var arn: String
        public var userID: String
    }

    /// `GetCallerIdentity`: always allowed, whatever the IAM policy says.
    public func getCallerIdentity() async throws(AWSError) -> CallerIdentity {
        let xml = try await client.callQuery("GetCallerIdentity", [])
        guard let account = XMLText.first("Account", in: xml), let arn = XMLText.first("Arn", in: xml) else {
            throw malformed("GetCallerIdentity", xml)
        }
        return CallerIdentity(account: account, arn: arn, userID: XMLText.first("UserId", in: xml) ?? "")
    }

    /// `AssumeRole`.
    public func assumeRole(
        roleARN: String,
        sessionName: String,
        externalID: String? = nil,
        durationSeconds: Int? = nil
    ) async throws(AWSError) -> AWSCredentials {
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let xml = try await client.callQuery("AssumeRole", parameters)
        return try credentials(from: xml, operation: "AssumeRole")
    }

    /// `AssumeRoleWithWebIdentity`: unsigned, as AWS serves it (the web identity token is the proof).
    public func assumeRoleWithWebIdentity(
        roleARN: String,
        sessionName: String,
        token: String,
        durationSeconds: Int? = nil
    ) async throws(AWSError) -> AWSCredentials {
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", token)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let xml = try await client.callQuery("AssumeRoleWithWebIdentity", parameters, signed: false)
        return try credentials(from: xml, operation: "AssumeRoleWithWebIdentity")
    }

    func credentials(from xml: String, operation: String) throws(AWSError) -> AWSCredentials {
        guard let key = XMLText.first("AccessKeyId", in: xml),
            let secret = XMLText.first("SecretAccessKey", in: xml),
            let token = XMLText.first("SessionToken", in: xml)
        else { throw malformed(operation, xml) }
        return AWSCredentials(
            accessKeyID: key,
            secretAccessKey: secret,
            sessionToken: token,
            expiration: XMLText.first("Expiration", in: xml).flatMap(Timestamp.init(iso8601:))
        )
    }

    func malformed(_ operation: String, _ xml: String) -> AWSError {
        // The body is not kept: it would carry credentials if only some fields were missing.
        AWSError(
            kind: .malformedResponse,
            service: "sts",
            operation: operation,
            message: "the response lacks the expected fields (\(xml.utf8.count) bytes)"
        )
    }
}
