public import AWSClients
public import CostGuardCore

/// An Amazon SNS topic: `Publish`, signed like every call (subscribers get it by email, SQS, chat or HTTPS).
///
/// AWS's refusals (no such topic, not authorized, a KMS key it may not use) are final; throttling, server errors,
/// credential problems and no answer are tried again. A lost connection after the request may have published it,
/// so a retry can repeat a notice: SNS delivery is at least once.
public struct SNSChannel: Sendable {
    let client: SNSClient
    public let topicARN: String

    public init(client: SNSClient, topicARN: String) {
        self.client = client
        self.topicARN = topicARN
    }

    /// `arn:aws:sns:REGION:ACCOUNT:NAME` → its region, or `nil` when `arn` is not a topic ARN.
    public static func region(ofTopic arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sns", !parts[3].isEmpty, parts[4].count == 12,
            !parts[5].isEmpty
        else { return nil }
        return String(parts[3])
    }

    public func send(_ notice: PendingNotice) async -> DeliveryResult {
        do {
            _ = try await client.publish(
                topicARN: topicARN,
                message: notice.text,
                subject:
                    "CostGuard: \(notice.kind == .orphan ? "orphaned" : "terminated") EMR cluster \(notice.clusterID)"
            )
            return .delivered
        } catch {
            let reason = "\(error.code ?? error.kind.rawValue): \(error.message)"
            return error.isRefusal ? .failed(reason: reason) : .retry(after: nil, reason: reason)
        }
    }
}
