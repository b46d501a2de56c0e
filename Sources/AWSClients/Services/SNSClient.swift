import CostGuardCore

/// Amazon SNS (query protocol, XML answers): what the notices need.
public struct SNSClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    /// `Publish` to a topic; returns the message id. `subject` is at most 100 printable ASCII characters (email
    /// subscriptions show it); longer or other text is cut and replaced here rather than refused by SNS.
    public func publish(topicARN: String, message: String, subject: String?) async throws(AWSError) -> String {
        var parameters = [("TopicArn", topicARN), ("Message", message)]
        if let subject { parameters.append(("Subject", Self.subject(subject))) }
        let xml = try await client.callQuery("Publish", parameters, idempotent: false)
        guard let id = XMLText.first("MessageId", in: xml) else {
            throw AWSError(
                kind: .malformedResponse,
                service: "sns",
                operation: "Publish",
                message: "the answer has no MessageId",
                rawBody: String(xml.prefix(512))
            )
        }
        return id
    }

    /// A subject SNS accepts: printable ASCII (others become `?`), no line breaks, at most 100 characters.
    static func subject(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }.prefix(100)
            )
        )
    }
}
