import CostGuardCore
import CostGuardLedger
import Foundation
import Testing

/// The ledger reads and writes a steady pass makes for every state machine and cluster: what they return, and that
/// they stay cheap (indexed, one prepared statement whatever the number of values, no rewrite of unchanged rows).
@Suite("Ledger pass reads")
struct PassReadTests {
    static let machineA = "arn:aws:states:us-east-1:123456789012:stateMachine:a"
    static let machineB = "arn:aws:states:us-east-1:123456789012:stateMachine:b"
    static let machineC = "arn:aws:states:us-east-1:123456789012:stateMachine:c"

    static func execution(_ machine: String, _ name: String, _ status: ExecutionStatus) -> ExecutionRecord {
        let arn = machine.replacingOccurrences(of: ":stateMachine:", with: ":execution:") + ":" + name
        return ExecutionRecord(
            arn: arn,
            stateMachineARN: machine,
            name: name,
            status: status,
            startDate: testNow,
            stopDate: status.hasEnded ? testNow : nil,
            source: "ListExecutions"
        )
    }

    static func seedMachines(_ ledger: Ledger) throws {
        try ledger.stateMachines.recordSeen(
            [machineA, machineB].map {
                (
                    arn: $0, name: String($0.split(separator: ":").last!), region: "us-east-1", account: "123456789012",
                    type: "STANDARD"
                )
            },
            at: testNow
        )
    }

    @Test("state machines seen: new ones inserted whole, known ones touched, in one statement for the whole list")
    func stateMachinesSeen() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            let odd = "arn:aws:states:us-east-1:123456789012:stateMachine:odd"
            try ledger.stateMachines.recordSeen(
                [
                    (arn: Self.machineA, name: "a", region: "us-east-1", account: "123456789012", type: "STANDARD"),
                    (arn: odd, name: "we\"ird\\näme", region: "eu-west-1", account: "210987654321", type: nil),
                ],
                at: testNow
            )
            let later = testNow.adding(.seconds(60))
            try ledger.stateMachines.recordSeen(
                [
                    (arn: odd, name: "renamed", region: "eu-west-1", account: "210987654321", type: "EXPRESS"),
                    (arn: Self.machineB, name: "b", region: "us-east-1", account: "123456789012", type: "EXPRESS"),
                ],
                at: later
            )
            let machines = try ledger.stateMachines.all()
            #expect(machines.count == 3)
            #expect(machines[odd]?.name == "we\"ird\\näme")
            #expect(machines[odd]?.region == "eu-west-1")
            #expect(machines[odd]?.account == "210987654321")
            func text(_ column: String, _ arn: String) throws -> String? {
                try ledger.testing_text("SELECT \(column) FROM state_machines WHERE arn = '\(arn)'")
            }
            #expect(try text("type", odd) == nil)
            #expect(try text("type", Self.machineB) == "EXPRESS")
            #expect(try text("first_seen_at", odd) == testNow.iso8601)
            // Touched within the refresh period: left as it was (the row's own time stamp decides, whoever wrote it).
            #expect(try text("last_seen_at", odd) == testNow.iso8601)
            #expect(try text("last_seen_at", Self.machineA) == testNow.iso8601)
            try ledger.stateMachines.recordSeen([], at: later)

            // Seen again unchanged within the refresh period: not even sent to SQLite (the process's own record).
            let renamed = (
                arn: odd, name: "renamed", region: "eu-west-1", account: "210987654321", type: String?("EXPRESS")
            )
            try ledger.stateMachines.recordSeen([renamed], at: later.adding(.seconds(120)))
            #expect(try text("last_seen_at", odd) == testNow.iso8601)
            // Past it, touched again.
            let refreshed = testNow.adding(Ledger.stateMachineSeenRefresh)
            try ledger.stateMachines.recordSeen([renamed], at: refreshed)
            #expect(try text("last_seen_at", odd) == refreshed.iso8601)
            try ledger.stateMachines.recordSeen([renamed], at: refreshed.adding(.seconds(299)))
            #expect(try text("last_seen_at", odd) == refreshed.iso8601)
            // Another connection's commit may have changed the rows: the next listing writes again.
            let other = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            try other.testing_execute(["DELETE FROM state_machines WHERE arn = '\(odd)'"])
            try ledger.stateMachines.recordSeen([renamed], at: refreshed.adding(.seconds(1)))
            #expect(try text("first_seen_at", odd) == refreshed.adding(.seconds(1)).iso8601)
            #expect(try ledger.stateMachines.all()[odd]?.name == "renamed")
        }
    }

    @Test(
        "rows another process touched within the refresh period are remembered with their own time, not sent again every pass"
    )
    func machinesSeenByAnotherProcess() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/l.sqlite"
            let machine = (
                arn: Self.machineA, name: "a", region: "us-east-1", account: "123456789012", type: String?("STANDARD")
            )
            // A `reconcile` run writes the row; a `serve` started a minute later lists the same machine.
            try Ledger.open(path: path, now: testNow).stateMachines.recordSeen([machine], at: testNow)
            let serve = try Ledger.open(path: path, now: testNow)
            #expect(try serve.testing_machinesSeen().isEmpty)
            try serve.stateMachines.recordSeen([machine], at: testNow.adding(.seconds(60)))
            let lastSeen = "SELECT last_seen_at FROM state_machines WHERE arn = '\(Self.machineA)'"
            #expect(try serve.testing_text(lastSeen) == testNow.iso8601, "left alone: touched a minute ago")
            #expect(try serve.testing_machinesSeen() == [Self.machineA: testNow], "remembered with the row's own time")
            // Due when the row's own time is a refresh period old, not the listing's: written then.
            let due = testNow.adding(Ledger.stateMachineSeenRefresh)
            try serve.stateMachines.recordSeen([machine], at: due)
            #expect(try serve.testing_text(lastSeen) == due.iso8601)
            #expect(try serve.testing_machinesSeen() == [Self.machineA: due])
        }
    }

    @Test("the RUNNING executions of one state machine come from their own index, not from every RUNNING execution")
    func runningByStateMachine() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            try Self.seedMachines(ledger)
            var records: [ExecutionRecord] = []
            for n in 0..<30 {
                records.append(Self.execution(Self.machineA, "run-\(n)", n % 3 == 0 ? .succeeded : .running))
                records.append(Self.execution(Self.machineB, "run-\(n)", .running))
            }
            try ledger.executions.record(records, at: testNow)
            let expected = Set(
                records.filter { $0.stateMachineARN == Self.machineA && $0.status == .running }.map(\.arn)
            )
            #expect(expected.count == 20)
            #expect(try ledger.executions.runningARNs(stateMachine: Self.machineA) == expected)
            #expect(
                try ledger.executions.runningARNs(
                    stateMachine: "arn:aws:states:us-east-1:123456789012:stateMachine:none"
                )
                .isEmpty
            )
            try ledger.write("statistics") { try $0.execute("ANALYZE") }
            let plan = try ledger.testing_queryPlan(Ledger.runningExecutionsQuery, [.text(Self.machineA)])
            #expect(plan.contains("USING INDEX executions_running_by_state_machine (state_machine_arn=?)"), "\(plan)")
        }
    }

    @Test("statuses of many executions, odd characters included, with one prepared statement for any number of ARNs")
    func statusesOfAList() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            try Self.seedMachines(ledger)
            // More than a chunk of the old `?` lists (500), and names a JSON list must escape.
            let odd = ["quote\"d", "back\\slash", "tab\there", "ünïcødé-🚀", "new\nline"]
            let records = (0..<1200).map { n in
                Self.execution(Self.machineA, n < odd.count ? odd[n] : "run-\(n)", n % 2 == 0 ? .running : .failed)
            }
            try ledger.executions.record(records, at: testNow)
            let unknown = "arn:aws:states:us-east-1:123456789012:execution:a:never-seen"
            let statuses = try ledger.executions.statuses(arns: records.map(\.arn) + [unknown])
            #expect(statuses.count == 1200)
            #expect(statuses[unknown] == nil)
            for record in records { #expect(statuses[record.arn] == record.status, "\(record.arn)") }
            #expect(try ledger.executions.statuses(arns: []).isEmpty)
            // Lists of every length share one statement: the cache does not grow with each new length.
            _ = try ledger.executions.statuses(arns: records.prefix(1).map(\.arn))
            let cached = try ledger.testing_cachedStatementCount()
            for count in 2...40 { _ = try ledger.executions.statuses(arns: records.prefix(count).map(\.arn)) }
            _ = try ledger.executions.rows(arns: records.prefix(7).map(\.arn))
            _ = try ledger.executions.rows(arns: records.prefix(9).map(\.arn))
            #expect(try ledger.testing_cachedStatementCount() == cached + 1)
        }
    }

    @Test(
        "a decision that repeats the last one leaves the row alone; a changed one is written; 'ended' never overwrites 'terminated'"
    )
    func decisionsWrittenWhenTheyChange() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/l.sqlite", now: testNow)
            for n in 0..<3 { try ledger.testing_writeBatch(number: n, now: testNow) }
            let facts = try ledger.decisions.policyFacts(passStart: testNow)
            #expect(facts.count == 3)
            let decisions = ReconcilePolicy.decide(
                PolicyInput(clusters: facts, now: testNow),
                configuration: PolicyConfiguration()
            )
            func rows() throws -> [String: String] {
                var result: [String: String] = [:]
                for id in ["j-BATCH0", "j-BATCH1", "j-BATCH2"] {
                    result[id] = try ledger.testing_text(
                        "SELECT disposition || '|' || disposition_reason || '|' || disposition_at FROM clusters WHERE id = '\(id)'"
                    )
                }
                return result
            }
            let t1 = testNow.adding(.seconds(10))
            try ledger.decisions.record(decisions, at: t1)
            let first = try rows()
            #expect(first.values.allSatisfy { $0.hasSuffix("|" + t1.iso8601) }, "\(first)")
            // The same decisions later: nothing is rewritten (disposition_at keeps the time of the first).
            try ledger.decisions.record(decisions, at: testNow.adding(.seconds(20)))
            #expect(try rows() == first)
            // One decision changes its reason: that row only.
            var changed = decisions
            changed[1].reason += " (again)"
            let t3 = testNow.adding(.seconds(30))
            try ledger.decisions.record(changed, at: t3)
            let third = try rows()
            #expect(third["j-BATCH0"] == first["j-BATCH0"])
            #expect(third["j-BATCH2"] == first["j-BATCH2"])
            #expect(third["j-BATCH1"] == "\(changed[1].disposition.rawValue)|\(changed[1].reason)|\(t3.iso8601)")
            // CostGuard's own termination is not turned into 'ended' by a later decision.
            let terminate = JournalRecord(
                action: .terminate,
                clusterID: "j-BATCH0",
                region: "us-east-1",
                account: "123456789012",
                dryRun: false,
                reason: "test"
            )
            let intent = try ledger.journal.intent(terminate, pass: nil, at: t3)
            try ledger.decisions.recordTermination(
                outcomes: [(intentSeq: intent, record: terminate)],
                requestID: nil,
                reasonPrefix: "terminated by CostGuard: ",
                pass: nil,
                at: t3
            )
            var ended = changed
            ended[0].disposition = .ended
            ended[0].reason = "the cluster is TERMINATED"
            try ledger.decisions.record(ended, at: testNow.adding(.seconds(40)))
            #expect(try ledger.decisions.dispositions(of: ["j-BATCH0"]) == ["j-BATCH0": "terminated"])
        }
    }

    /// Every answer the read cache keeps, as one comparable value.
    struct CachedAnswers: Equatable {
        var tracked: [TrackedCluster]
        var facts: [ClusterFacts]
        var statuses: [String: ExecutionStatus]
        var running: Set<String>
        var count: Int
        var needingHistory: [String: ExecutionRow]
        var machines: [String: StateMachineRow]
        var incomplete: Set<String>

        init(_ ledger: Ledger, arns: [String]) throws {
            machines = try ledger.stateMachines.all()
            tracked = try ledger.clusters.tracked()
            facts = try ledger.decisions.policyFacts(passStart: testNow, observed: ["j-BATCH2"])
            statuses = try ledger.executions.statuses(arns: arns)
            running = try ledger.executions.runningARNs(stateMachine: PassReadTests.machineA)
            count = try ledger.executions.count(
                stateMachine: PassReadTests.machineA,
                startedSince: testNow.adding(.seconds(-60))
            )
            needingHistory = try ledger.histories.needingRead(stateMachine: PassReadTests.machineA)
            incomplete = try ledger.histories.stateMachinesWithIncompleteRunning()
        }
    }

    @Test("pass reads follow this connection's changes and another connection's commits")
    func readsFollowChanges() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/l.sqlite"
            let ledger = try Ledger.open(path: path, now: testNow)
            try Self.seedMachines(ledger)
            for n in 0..<3 { try ledger.testing_writeBatch(number: n, now: testNow) }
            let running = Self.execution(Self.machineA, "r", .running)
            let later = Self.execution(Self.machineA, "later", .succeeded)
            try ledger.executions.record([running], at: testNow)
            let arns = [running.arn, later.arn, "arn:aws:states:us-east-1:123456789012:execution:batch-1:run"]
            // The oracle: a ledger opened afresh on the same file.
            func truth() throws -> CachedAnswers { try CachedAnswers(Ledger.openReadOnly(path: path), arns: arns) }

            let first = try CachedAnswers(ledger, arns: arns)
            #expect(first == (try truth()))
            #expect(first.tracked.count == 3 && first.running == [running.arn] && first.statuses.count == 2)
            #expect(try CachedAnswers(ledger, arns: arns) == first)
            // Writes to tables the reads do not depend on (the pass's row; a dry run journals its decisions) keep the
            // answers, and so does a state machine seen again within the refresh period (nothing is written).
            try ledger.stateMachines.recordSeen(
                [(arn: Self.machineA, name: "a", region: "us-east-1", account: "123456789012", type: "STANDARD")],
                at: testNow.adding(.seconds(5))
            )
            let pass = try ledger.journal.startPass(trigger: "serve", dryRun: true, at: testNow.adding(.seconds(5)))
            try ledger.journal.decision(
                JournalRecord(
                    action: .wouldTerminate,
                    clusterID: "j-BATCH0",
                    executionARN: arns[2],
                    region: "us-east-1",
                    account: "123456789012",
                    dryRun: true,
                    reason: "a dry run's decision"
                ),
                pass: pass,
                at: testNow.adding(.seconds(5))
            )
            #expect(try CachedAnswers(ledger, arns: arns) == first)
            // A state machine seen past the refresh period is written.
            let seenLater = testNow.adding(Ledger.stateMachineSeenRefresh).adding(.seconds(5))
            try ledger.stateMachines.recordSeen(
                [
                    (arn: Self.machineA, name: "a", region: "us-east-1", account: "123456789012", type: "STANDARD"),
                    (arn: Self.machineC, name: "c", region: "us-east-1", account: "123456789012", type: "STANDARD"),
                ],
                at: seenLater
            )
            let seen = try CachedAnswers(ledger, arns: arns)
            #expect(seen == (try truth()))
            #expect(seen.machines.count == first.machines.count + 1 && seen.machines[Self.machineC]?.name == "c")

            // This connection's changes: a status, and an execution that was absent.
            var ended = running
            ended.status = .failed
            ended.stopDate = testNow.adding(.seconds(10))
            try ledger.executions.record([ended, later], at: testNow.adding(.seconds(10)))
            let second = try CachedAnswers(ledger, arns: arns)
            #expect(second == (try truth()))
            #expect(second.statuses[running.arn] == .failed && second.statuses[later.arn] == .succeeded)
            #expect(second.running.isEmpty && second.count == first.count + 1)

            // Another connection's commit (another process, such as 'costguard exempt' or a person with sqlite3).
            let other = try Ledger.open(path: path, now: testNow)
            try other.testing_execute([
                "UPDATE clusters SET state = 'RUNNING', state_observed_at = '\(testNow.adding(.seconds(20)).iso8601)' WHERE id = 'j-BATCH1'",
                "UPDATE executions SET status = 'RUNNING', stop_date = NULL, history_status = 'incomplete' WHERE arn = '\(arns[2])'",
                "UPDATE clusters SET state = 'TERMINATED' WHERE id = 'j-BATCH0'",
            ])
            let third = try CachedAnswers(ledger, arns: arns)
            #expect(third == (try truth()))
            #expect(third.tracked.map(\.id) == ["j-BATCH1", "j-BATCH2"])
            #expect(third.facts.first { $0.id == "j-BATCH1" }?.creator.status == .running)
            #expect(third.statuses[arns[2]] == .running)
            #expect(
                first.incomplete.isEmpty && third.incomplete.count == 1,
                "a running history left incomplete is seen"
            )

            // A transaction rolled back leaves the answers as they were.
            #expect(throws: LedgerError.self) {
                try ledger.write("a failing write") { db in
                    try db.run("UPDATE clusters SET state = 'TERMINATED' WHERE id = 'j-BATCH2'")
                    try db.run("INSERT INTO no_such_table VALUES (1)")
                }
            }
            #expect(try CachedAnswers(ledger, arns: arns) == third)
            #expect(third == (try truth()))

            // Decisions: the first set writes, the same set again writes nothing; one another connection changed
            // meanwhile is seen and written back.
            let decisions = ReconcilePolicy.decide(
                PolicyInput(clusters: third.facts, now: testNow),
                configuration: PolicyConfiguration()
            )
            try ledger.decisions.record(decisions, at: testNow.adding(.seconds(30)))
            let atFirst = try ledger.clusters.reportRecords(dispositions: nil).map(\.dispositionAt)
            try ledger.decisions.record(decisions, at: testNow.adding(.seconds(31)))
            #expect(
                try ledger.clusters.reportRecords(dispositions: nil).map(\.dispositionAt) == atFirst,
                "nothing rewritten"
            )
            let expected = Dictionary(uniqueKeysWithValues: decisions.map { ($0.clusterID, $0.disposition.rawValue) })
            try other.testing_execute([
                "UPDATE clusters SET disposition = 'exempt', disposition_reason = 'by hand' WHERE id = 'j-BATCH2'"
            ])
            try ledger.decisions.record(decisions, at: testNow.adding(.seconds(32)))
            #expect(try ledger.decisions.dispositions(of: Array(expected.keys)) == expected)
        }
    }
}
