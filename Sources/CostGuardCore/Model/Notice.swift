/// What a notice tells people.
public enum NoticeKind: String, Sendable, Hashable, CaseIterable {
    /// A cluster found orphaned: why, what it costs, when it will be terminated, how to keep it.
    case orphan
    /// A cluster CostGuard terminated, with AWS's request id.
    case terminated
}

/// Where notices go.
public enum NoticeChannel: String, Sendable, Hashable, CaseIterable {
    /// A Slack-compatible incoming webhook (`text` and `blocks`).
    case webhook
    /// An Amazon SNS topic (`Publish`; subscribers by email, SQS, chat, HTTPS).
    case sns
}

/// One notice, as the pass writes it to the ledger's outbox (with the decision or outcome it reports).
public struct Notice: Sendable, Hashable {
    /// Once per fact: `orphan:<cluster>`, `terminated:<cluster>`.
    public var id: String
    public var kind: NoticeKind
    public var clusterID: String
    /// The message, for people.
    public var text: String

    public init(kind: NoticeKind, clusterID: String, text: String) {
        self.id = "\(kind.rawValue):\(clusterID)"
        self.kind = kind
        self.clusterID = clusterID
        self.text = text
    }
}

/// A notice waiting in the outbox, as the sender reads it.
public struct PendingNotice: Sendable, Hashable {
    public var id: String
    public var channel: NoticeChannel
    public var kind: NoticeKind
    public var clusterID: String
    public var text: String
    /// Attempts made so far.
    public var attempts: Int

    public init(id: String, channel: NoticeChannel, kind: NoticeKind, clusterID: String, text: String, attempts: Int) {
        self.id = id
        self.channel = channel
        self.kind = kind
        self.clusterID = clusterID
        self.text = text
        self.attempts = attempts
    }
}
