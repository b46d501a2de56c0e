import CostGuardCore
import CostGuardLedger
import Foundation
import Testing

/// A history read resumes after the events it already read, so a problem found in them is not found again: the
/// ledger must keep it. Only a failed read is cleared by a read that succeeds.
@Suite("Ledger history problems")
struct HistoryProblemTests {
    static let machine = PassReadTests.machineA

    func read(_ ledger: Ledger, _ arn: String, problems: [String], lastEvent: Int, ended: Bool) throws {
        var findings = HistoryFindings()
        findings.problems = problems
        findings.lastEventID = lastEvent
        try ledger.histories.record(
            executionARN: arn,
            findings: findings,
            nextToken: nil,
            executionEnded: ended,
            region: "us-east-1",
            account: "123456789012",
            at: testNow
        )
    }

    @Test("a problem in the events stays through later reads; a failed read is retried and cleared by a good one")
    func stickyProblems() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            try PassReadTests.seedMachines(ledger)
            let running = PassReadTests.execution(Self.machine, "running", .running)
            let ended = PassReadTests.execution(Self.machine, "ended", .failed)
            try ledger.executions.record([running, ended], at: testNow)

            // An ended execution whose events held a problem: incomplete, and not read again (nothing would clear it).
            try read(
                ledger,
                ended.arn,
                problems: ["setTerminationProtection at event 4 does not name its cluster"],
                lastEvent: 9,
                ended: true
            )
            try read(ledger, ended.arn, problems: [], lastEvent: 9, ended: true)
            var rows = try ledger.executions.rows(arns: [ended.arn, running.arn])
            #expect(rows[ended.arn]?.historyStatus == .incomplete)
            #expect(rows[ended.arn]?.historyProblem?.contains("event 4") == true)
            #expect(try ledger.histories.needingRead(stateMachine: Self.machine)[ended.arn] == nil)

            // A RUNNING execution whose read failed: incomplete, held, and read again next pass.
            try read(ledger, running.arn, problems: [], lastEvent: 3, ended: false)
            try ledger.histories.recordFailure(executionARN: running.arn, problem: "InternalFailure", at: testNow)
            rows = try ledger.executions.rows(arns: [running.arn])
            #expect(rows[running.arn]?.historyStatus == .incomplete)
            #expect(rows[running.arn]?.historyProblem == Ledger.readFailurePrefix + "InternalFailure")
            #expect(try ledger.histories.needingRead(stateMachine: Self.machine)[running.arn] != nil)
            #expect(try ledger.histories.incompleteRunning()[Self.machine]?.contains(running.arn) == true)
            try read(ledger, running.arn, problems: [], lastEvent: 5, ended: false)
            rows = try ledger.executions.rows(arns: [running.arn])
            #expect(rows[running.arn]?.historyStatus == .partial)
            #expect(rows[running.arn]?.historyProblem == nil)
            #expect(try ledger.histories.incompleteRunning().isEmpty)

            // A problem in a RUNNING execution's events, then a failed read: the problem is kept, not replaced.
            try read(ledger, running.arn, problems: ["truncated input"], lastEvent: 6, ended: false)
            try ledger.histories.recordFailure(executionARN: running.arn, problem: "timeout", at: testNow)
            try read(ledger, running.arn, problems: [], lastEvent: 8, ended: false)
            rows = try ledger.executions.rows(arns: [running.arn])
            #expect(rows[running.arn]?.historyStatus == .incomplete)
            #expect(rows[running.arn]?.historyProblem == "truncated input")
        }
    }
}
