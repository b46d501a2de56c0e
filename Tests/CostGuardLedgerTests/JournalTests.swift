import CostGuardCore
import Foundation
import Testing

@testable import CostGuardLedger

@Suite("Journal")
struct JournalTests {
    let record = JournalRecord(
        action: .terminate,
        clusterID: "j-ABC",
        executionARN: "arn:aws:states:us-east-1:1:execution:sm:e",
        region: "us-east-1",
        account: "123456789012",
        dryRun: false,
        reason: "execution ABORTED 20 min ago"
    )

    @Test("the journal rejects UPDATE and DELETE, and the row stays as written")
    func appendOnly() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            let pass = try ledger.journal.startPass(trigger: "reconcile", dryRun: false, at: testNow)
            let seq = try ledger.journal.intent(record, pass: pass, at: testNow)
            let update = try #require(throws: LedgerError.self) {
                try ledger.write("tamper") {
                    try $0.run("UPDATE journal SET reason = 'x' WHERE seq = ?", [.integer(seq)])
                }
            }
            #expect(update.description.contains("append-only"))
            let delete = try #require(throws: LedgerError.self) {
                try ledger.write("tamper") { try $0.run("DELETE FROM journal") }
            }
            #expect(delete.description.contains("append-only"))
            let rows = try ledger.journal.rows()
            #expect(rows.count == 1)
            #expect(rows.first?.record == record)
        }
    }

    @Test("a termination's outcomes and its clusters' new state commit together, or not at all")
    func terminationIsOneTransaction() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            try ledger.testing_writeBatch(number: 0, now: testNow)
            try ledger.testing_writeBatch(number: 1, now: testNow)
            var first = record
            first.clusterID = "j-BATCH0"
            var second = record
            second.clusterID = "j-BATCH1"
            let intent0 = try ledger.journal.intent(first, pass: nil, at: testNow)
            let intent1 = try ledger.journal.intent(second, pass: nil, at: testNow)
            // The second outcome answers no intent (the journal's trigger refuses it): nothing of the call is kept.
            #expect(throws: LedgerError.self) {
                try ledger.decisions.recordTermination(
                    outcomes: [(intentSeq: intent0, record: first), (intentSeq: intent1 + 100, record: second)],
                    requestID: "req-1",
                    reasonPrefix: "terminated by CostGuard: ",
                    pass: nil,
                    at: testNow
                )
            }
            #expect(try ledger.journal.rows().filter { $0.kind == .outcome }.isEmpty)
            #expect(
                try ledger.decisions.dispositions(of: ["j-BATCH0", "j-BATCH1"]).values.allSatisfy { $0 != "terminated" }
            )
            try ledger.decisions.recordTermination(
                outcomes: [(intentSeq: intent0, record: first), (intentSeq: intent1, record: second)],
                requestID: "req-1",
                reasonPrefix: "terminated by CostGuard: ",
                pass: nil,
                at: testNow
            )
            #expect(try ledger.journal.openIntents().isEmpty)
            #expect(
                try ledger.decisions.dispositions(of: ["j-BATCH0", "j-BATCH1"]) == [
                    "j-BATCH0": "terminated", "j-BATCH1": "terminated",
                ]
            )
            // Each cluster keeps its own reason.
            #expect(
                try ledger.testing_text("SELECT disposition_reason FROM clusters WHERE id = 'j-BATCH1'")
                    == "terminated by CostGuard: " + second.reason
            )
        }
    }

    @Test("an outcome must answer an intent, once")
    func outcomeRules() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            let intent = try ledger.journal.intent(record, pass: nil, at: testNow)
            #expect(try ledger.journal.openIntents().map(\.seq) == [intent])
            try ledger.journal.outcome(
                intentSeq: intent,
                record: record,
                result: .succeeded,
                requestID: "req-1",
                errorCode: nil,
                errorMessage: nil,
                pass: nil,
                at: testNow
            )
            #expect(try ledger.journal.openIntents().isEmpty)
            // A second outcome for the same intent is refused.
            #expect(throws: LedgerError.self) {
                try ledger.journal.outcome(
                    intentSeq: intent,
                    record: self.record,
                    result: .failed,
                    requestID: nil,
                    errorCode: nil,
                    errorMessage: nil,
                    pass: nil,
                    at: testNow
                )
            }
            // So is an outcome pointing at a decision.
            try ledger.journal.decision(record, pass: nil, at: testNow)
            let decision = try #require(try ledger.journal.rows().last?.seq)
            #expect(throws: LedgerError.self) {
                try ledger.journal.outcome(
                    intentSeq: decision,
                    record: self.record,
                    result: .succeeded,
                    requestID: nil,
                    errorCode: nil,
                    errorMessage: nil,
                    pass: nil,
                    at: testNow
                )
            }
            #expect(try ledger.journal.rows().count == 3)
        }
    }

    @Test("the open-intent check every pass starts with reads only intents, however many decisions the journal holds")
    func openIntentsIndexed() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            for _ in 0..<50 { try ledger.journal.decision(record, pass: nil, at: testNow) }
            let open = try ledger.journal.intent(record, pass: nil, at: testNow)
            try ledger.write("statistics") { try $0.execute("ANALYZE") }
            let plan = try ledger.testing_queryPlan(Ledger.openIntentsQuery)
            #expect(plan.contains("USING INDEX journal_intents"), "\(plan)")
            #expect(plan.contains("USING INDEX journal_one_outcome_per_intent"), "\(plan)")
            #expect(try ledger.journal.openIntents().map(\.seq) == [open])
        }
    }

    @Test("a ledger whose creation was interrupted before its first migration has no open intents, and says so")
    func unsetUpLedger() throws {
        try withTemporaryDirectory { dir in
            // What a kill left, before ledgers were created whole, between creating the file and committing the
            // first migration (SQLite's header and WAL mode, no tables); an empty file a user made is opened the same.
            let path = dir + "/l.sqlite"
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let db = try SQLiteConnection(path: path, mode: .readWrite)
            _ = try db.query("PRAGMA journal_mode = WAL")
            let ledger = try Ledger.openReadOnly(path: path)
            #expect(ledger.schemaVersion == 0)
            #expect(try ledger.journal.openIntents().isEmpty)
            let report = try ledger.maintenance.check()
            #expect(!report.isHealthy && report.schemaVersion == 0 && report.integrityProblems.isEmpty)
            // The next writer sets it up.
            #expect(try Ledger.open(path: path, now: testNow).schemaVersion == Migration.latestVersion)
        }
    }

    @Test("a pass left running by a crash is marked interrupted when the next one starts")
    func interruptedPass() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            let first = try ledger.journal.startPass(trigger: "serve", dryRun: false, at: testNow)
            let second = try ledger.journal.startPass(trigger: "serve", dryRun: false, at: testNow.adding(.seconds(10)))
            try ledger.journal.finishPass(
                second,
                outcome: .ok,
                at: testNow.adding(.seconds(11)),
                counts: ["live": 2],
                apiCalls: ["emr.ListClusters": 1, "states.ListExecutions": 3],
                summary: "ok"
            )
            let rows = try ledger.read("passes") {
                try $0.query("SELECT id, outcome, api_calls, api_calls_json FROM passes ORDER BY id")
            }
            #expect(rows[0]["id"].integer == first.rawValue)
            #expect(rows[0]["outcome"].text == "interrupted")
            #expect(rows[1]["outcome"].text == "ok")
            #expect(rows[1]["api_calls"].integer == 4)
            #expect(rows[1]["api_calls_json"].text == #"{"emr.ListClusters":1,"states.ListExecutions":3}"#)
        }
    }
}
