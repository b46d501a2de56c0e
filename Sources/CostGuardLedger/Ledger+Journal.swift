public import CostGuardCore

/// The row id of a reconcile pass.
public struct PassID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int64
    public var description: String { String(rawValue) }
}

/// One journal row as read back.
public struct JournalRow: Sendable, Hashable {
    public var seq: Int64
    public var at: String
    public var passID: Int64?
    public var kind: JournalKind
    public var intentSeq: Int64?
    public var record: JournalRecord
    public var result: CallResult?
    public var requestID: String?
    public var errorCode: String?
    public var errorMessage: String?
}

extension Ledger {
    /// Intents without an outcome (indexed on both sides: `journal_intents`, `journal_one_outcome_per_intent`).
    package static let openIntentsQuery = """
        SELECT * FROM journal AS i WHERE i.kind = 'intent'
        AND NOT EXISTS (SELECT 1 FROM journal AS o WHERE o.kind = 'outcome' AND o.intent_seq = i.seq)
        ORDER BY seq
        """

}

extension JournalRow {
    init(row: SQLRow) {
        self.init(
            seq: row["seq"].integer ?? 0,
            at: row["at"].text ?? "",
            passID: row["pass_id"].integer,
            kind: row["kind"].text.flatMap(JournalKind.init(rawValue:)) ?? .decision,  // the CHECK allows no other
            intentSeq: row["intent_seq"].integer,
            record: JournalRecord(
                action: row["action"].text.flatMap(JournalAction.init(rawValue:)) ?? .unrecognized,
                clusterID: row["cluster_id"].text,
                executionARN: row["execution_arn"].text,
                region: row["region"].text,
                account: row["account"].text,
                dryRun: row["dry_run"].integer == 1,
                reason: row["reason"].text ?? ""
            ),
            result: row["result"].text.flatMap(CallResult.init(rawValue:)),
            requestID: row["request_id"].text,
            errorCode: row["error_code"].text,
            errorMessage: row["error_message"].text
        )
    }
}

/// A flat JSON object of string keys and integer values, keys sorted.
func jsonObject(_ values: [String: Int]) -> String {
    let body = values.keys.sorted().map { key in "\(jsonString(key)):\(values[key]!)" }.joined(separator: ",")
    return "{\(body)}"
}

/// A JSON string literal.
func jsonString(_ text: String) -> String { JSONText.quoted(text) }
