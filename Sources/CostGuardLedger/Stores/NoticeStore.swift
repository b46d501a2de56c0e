public import CostGuardCore

/// The outbox of notices to people (migration 0012): written with the decisions and outcomes they report, delivered
/// by the sender.
public struct NoticeStore: LedgerStore {
    let ledger: Ledger

    /// How many notices wait, how many were delivered, how many failed for good.
    public struct Counts: Sendable, Equatable {
        public var pending = 0
        public var delivered = 0
        public var failed = 0

        public init(pending: Int = 0, delivered: Int = 0, failed: Int = 0) {
            self.pending = pending
            self.delivered = delivered
            self.failed = failed
        }
    }

    /// The notices due at `now` (oldest first), at most `limit`.
    public func due(at now: Timestamp, limit: Int = 50) throws(LedgerError) -> [PendingNotice] {
        try read("reading the notices due") { db in
            var result: [PendingNotice] = []
            try db.forEachRow(
                """
                SELECT id, channel, kind, cluster_id, text, attempts FROM notices
                WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
                ORDER BY created_at, rowid LIMIT ?
                """,
                [.text(now.iso8601), .integer(Int64(limit))]
            ) { row in
                guard let id = row[0].text, let channel = row[1].text.flatMap(NoticeChannel.init(rawValue:)),
                    let kind = row[2].text.flatMap(NoticeKind.init(rawValue:)), let cluster = row[3].text,
                    let text = row[4].text
                else { return }
                result.append(
                    PendingNotice(
                        id: id,
                        channel: channel,
                        kind: kind,
                        clusterID: cluster,
                        text: text,
                        attempts: Int(row[5].integer ?? 0)
                    )
                )
            }
            return result
        }
    }

    /// Records a delivery.
    public func recordDelivered(_ notice: PendingNotice, at now: Timestamp) throws(LedgerError) {
        try write("recording notice \(notice.id) delivered") { db in
            try db.run(
                "UPDATE notices SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND channel = ?",
                [.text(now.iso8601), .text(notice.id), .text(notice.channel.rawValue)]
            )
        }
    }

    /// Records a failed attempt: tried again at `next`, or never again when `next` is `nil`.
    public func recordFailure(
        _ notice: PendingNotice,
        error: String,
        next: Timestamp?,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording notice \(notice.id) not delivered") { db in
            try db.run(
                """
                UPDATE notices SET attempts = attempts + 1, last_error = ?,
                    next_attempt_at = coalesce(?, next_attempt_at), failed_at = CASE WHEN ? IS NULL THEN ? END
                WHERE id = ? AND channel = ?
                """,
                [
                    .text(error), .optional(next?.iso8601), .optional(next?.iso8601), .text(now.iso8601),
                    .text(notice.id), .text(notice.channel.rawValue),
                ]
            )
        }
    }

    /// How many notices wait, were delivered, failed for good.
    public func counts() throws(LedgerError) -> Counts {
        guard schemaVersion >= 12 else { return Counts() }
        return try read("counting notices") { db in
            var counts = Counts()
            try db.forEachRow(
                """
                SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL),
                       count(delivered_at), count(failed_at) FROM notices
                """
            ) { row in
                counts = Counts(
                    pending: Int(row[0].integer ?? 0),
                    delivered: Int(row[1].integer ?? 0),
                    failed: Int(row[2].integer ?? 0)
                )
            }
            return counts
        }
    }

    /// Every notice of a cluster, oldest first: kind, channel, text, delivered (for tests and the report).
    public func of(cluster: String) throws(LedgerError) -> [(kind: NoticeKind, text: String, delivered: Bool)] {
        try read("reading notices") { db in
            var result: [(kind: NoticeKind, text: String, delivered: Bool)] = []
            try db.forEachRow(
                "SELECT kind, text, delivered_at FROM notices WHERE cluster_id = ? ORDER BY created_at, rowid",
                [.text(cluster)]
            ) { row in
                if let kind = row[0].text.flatMap(NoticeKind.init(rawValue:)), let text = row[1].text {
                    result.append((kind, text, row[2].text != nil))
                }
            }
            return result
        }
    }
}

extension Ledger {
    public var notices: NoticeStore { NoticeStore(ledger: self) }

    /// Appends `notices` to the outbox, one row per channel, inside the caller's transaction; a notice already
    /// there (same id and channel) is left as it is.
    static func insertNotices(
        _ db: SQLiteConnection,
        _ notices: [Notice],
        channels: [NoticeChannel],
        pass: PassID?,
        at now: Timestamp
    ) throws {
        for notice in notices {
            for channel in channels {
                try db.run(
                    """
                    INSERT OR IGNORE INTO notices (id, channel, kind, cluster_id, created_at, pass_id, text,
                                                   next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(notice.id), .text(channel.rawValue), .text(notice.kind.rawValue), .text(notice.clusterID),
                        .text(now.iso8601), pass.map { .integer($0.rawValue) } ?? .null, .text(notice.text),
                        .text(now.iso8601),
                    ]
                )
            }
        }
    }
}
