public import CostGuardCore
public import CostGuardLedger
public import Logging

/// Delivers the ledger's outbox: each due notice through its channel; delivered, tried again later with backoff (or
/// after the receiver's `Retry-After`), or given up after `maxAttempts` or a permanent refusal. Delivery never
/// touches a decision: a notice that cannot be delivered blocks nothing.
public struct NoticeSender: Sendable {
    public let ledger: Ledger
    public let webhook: WebhookChannel?
    public let sns: SNSChannel?
    public let now: @Sendable () -> Timestamp
    public let logger: Logger
    /// Told each attempt's outcome (`delivered`, `retry`, `failed`) by channel, for metrics.
    public var observer: @Sendable (NoticeChannel, String) -> Void = { _, _ in }
    /// Attempts before a notice is given up. Default 12 (about 17 hours of backoff).
    public var maxAttempts = 12

    public init(
        ledger: Ledger,
        webhook: WebhookChannel?,
        sns: SNSChannel? = nil,
        now: @escaping @Sendable () -> Timestamp,
        logger: Logger
    ) {
        self.ledger = ledger
        self.webhook = webhook
        self.sns = sns
        self.now = now
        self.logger = logger
    }

    /// The channels notices are written for.
    public var channels: [NoticeChannel] { (webhook == nil ? [] : [.webhook]) + (sns == nil ? [] : [.sns]) }

    /// What one round did.
    public struct Round: Sendable, Equatable {
        public var delivered = 0
        public var retrying = 0
        public var failed = 0

        public init(delivered: Int = 0, retrying: Int = 0, failed: Int = 0) {
            self.delivered = delivered
            self.retrying = retrying
            self.failed = failed
        }
    }

    /// Delivers every notice due now, in the order they were written.
    public func deliverDue() async throws(LedgerError) -> Round {
        var round = Round()
        for notice in try ledger.notices.due(at: now()) {
            let result: DeliveryResult
            switch notice.channel {
            case .webhook:
                guard let webhook else { continue }
                result = await webhook.send(notice.text)
            case .sns:
                guard let sns else { continue }
                result = await sns.send(notice)
            }
            let at = now()
            let attempt = notice.attempts + 1
            switch result {
            case .delivered:
                try ledger.notices.recordDelivered(notice, at: at)
                round.delivered += 1
                observer(notice.channel, "delivered")
                logger.info(
                    "notice delivered",
                    metadata: ["notice": "\(notice.id)", "channel": "\(notice.channel.rawValue)"]
                )
            case .retry(let after, let reason) where attempt < maxAttempts:
                let wait = after ?? Self.backoff(afterAttempts: attempt)
                try ledger.notices.recordFailure(notice, error: reason, next: at.adding(wait), at: at)
                round.retrying += 1
                observer(notice.channel, "retry")
                logger.warning(
                    "notice not delivered; trying again",
                    metadata: [
                        "notice": "\(notice.id)", "channel": "\(notice.channel.rawValue)", "error": "\(reason)",
                        "attempt": "\(attempt)", "wait": "\(DurationText.format(wait))",
                    ]
                )
            case .retry(_, let reason), .failed(let reason):
                let why =
                    attempt >= maxAttempts && result != .failed(reason: reason)
                    ? "\(reason); gave up after \(attempt) attempts" : reason
                try ledger.notices.recordFailure(notice, error: why, next: nil, at: at)
                round.failed += 1
                observer(notice.channel, "failed")
                logger.error(
                    "notice not delivered; giving up",
                    metadata: ["notice": "\(notice.id)", "channel": "\(notice.channel.rawValue)", "error": "\(why)"]
                )
            }
        }
        return round
    }

    /// 30 s after the first failure, doubling, at most an hour.
    public static func backoff(afterAttempts attempts: Int) -> Duration {
        .seconds(min(30 << min(max(attempts - 1, 0), 10), 3600))
    }
}
