import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardService
import CostGuardTestKit
import Logging
import Synchronization
import Testing

/// Whole passes in-process: the real reconciler, policy and ledger (in memory) against `FakeAWS` (Step Functions and
/// EMR in memory). Each runs in milliseconds; the emulator suites prove the same paths over real HTTP and executions,
/// and the ledger suites the same SQL on real files.
@Suite("Passes in-process against fake AWS")
struct InProcessPassTests {
    /// A clock the test moves.
    final class Clock: Sendable {
        private let value = Mutex(Timestamp(secondsSinceEpoch: 1_800_000_000))
        var now: Timestamp { value.withLock { $0 } }
        func advance(_ duration: Duration) { value.withLock { $0 = $0.adding(duration) } }
    }

    struct Harness {
        let clock = Clock()
        let aws: FakeAWS
        let ledger: Ledger

        /// - Parameter path: a ledger file, for a test that runs the binary on it; in memory when `nil`.
        init(path: String? = nil) throws {
            let clock = self.clock
            aws = FakeAWS(now: { clock.now })
            ledger =
                try path.map { path throws(LedgerError) in try Ledger.open(path: path, now: clock.now) }
                ?? Ledger.inMemory(now: clock.now)
        }

        func reconciler(
            dryRun: Bool = false,
            grace: Duration = .seconds(900),
            notify: [NoticeChannel] = []
        ) -> Reconciler {
            var configuration = ReconcileConfiguration()
            configuration.policy.grace = grace
            configuration.policy.dryRun = dryRun
            configuration.notify = notify
            let clock = self.clock
            return Reconciler(
                ledger: ledger,
                regions: [RegionClients(region: FakeAWS.region, sfn: aws.sfn, emr: aws.emr)],
                configuration: configuration,
                counter: CallCounter(),
                now: { clock.now },
                logger: Logger(label: "test")
            )
        }
    }

    @Test("orphans of ended executions are terminated after grace; running, protected and exempt ones are not")
    func orphans() async throws {
        let h = try Harness()
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "stopped", cluster: "j-STOPPED", status: .aborted)
        h.aws.runCreatingCluster(etl, name: "failed", cluster: "j-FAILED", status: .failed)
        h.aws.runCreatingCluster(etl, name: "recent", cluster: "j-RECENT", status: .timedOut, endedAgo: .seconds(60))
        let running = h.aws.runCreatingCluster(etl, name: "running", cluster: "j-RUNNING", status: .running)
        h.aws.runCreatingCluster(etl, name: "ok", cluster: "j-SUCCEEDED", status: .succeeded)
        h.aws.runCreatingCluster(etl, name: "guarded", cluster: "j-PROTECTED", status: .failed, protected: true)
        h.aws.runCreatingCluster(
            etl,
            name: "kept",
            cluster: "j-EXEMPT",
            status: .failed,
            tags: ["costguard:exempt": "true"]
        )

        let started = ContinuousClock.now
        let first = try await h.reconciler().runPass()
        let elapsed = ContinuousClock.now - started
        #expect(Set(first.terminated) == ["j-STOPPED", "j-FAILED"])
        #expect(h.aws.terminateCalls == [["j-FAILED", "j-STOPPED"]])
        #expect(h.aws.state(of: "j-RUNNING") == "WAITING" && h.aws.state(of: "j-PROTECTED") == "WAITING")
        let dispositions = try h.ledger.decisions.dispositions()
        #expect(dispositions["j-RECENT"] == "grace")
        #expect(dispositions["j-RUNNING"] == "live")
        #expect(dispositions["j-SUCCEEDED"] == "report-only")
        #expect(dispositions["j-PROTECTED"] == "protected")
        #expect(dispositions["j-EXEMPT"] == "exempt")
        // Every intent has its outcome, with the fake's request id.
        #expect(try h.ledger.journal.openIntents().isEmpty)
        let outcomes = try h.ledger.journal.rows(after: 0).filter { $0.kind == .outcome }
        #expect(outcomes.map(\.requestID) == ["req-terminate-1", "req-terminate-1"])
        #expect(Set(outcomes.compactMap(\.record.clusterID)) == ["j-FAILED", "j-STOPPED"])
        safetyFigure(
            "in-process",
            "a first pass over 7 clusters against fake AWS and an in-memory ledger: \(elapsed), "
                + "\(h.aws.calls.values.reduce(0, +)) calls"
        )

        // Past the grace the recent one goes; the running one ends and goes after its own grace.
        h.clock.advance(.seconds(1000))
        h.aws.stop(running)
        let second = try await h.reconciler().runPass()
        #expect(second.terminated == ["j-RECENT"])
        #expect(try h.ledger.decisions.dispositions()["j-RUNNING"] == "grace")
        h.clock.advance(.seconds(1000))
        let third = try await h.reconciler().runPass()
        #expect(third.terminated == ["j-RUNNING"])
        #expect(h.aws.terminateCalls.count == 3)
    }

    @Test("a dry run makes no mutating call and journals what it would do")
    func dryRun() async throws {
        let h = try Harness()
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "stopped", cluster: "j-STOPPED", status: .aborted)
        let pass = try await h.reconciler(dryRun: true).runPass()
        #expect(pass.terminated.isEmpty)
        #expect(h.aws.calls["elasticmapreduce.TerminateJobFlows"] == nil)
        #expect(try h.ledger.decisions.dispositions()["j-STOPPED"] == "would-terminate")
        // Journaled once, with the disposition it records (one transaction), not again while it stands.
        _ = try await h.reconciler(dryRun: true).runPass()
        let rows = try h.ledger.journal.rows(after: 0).filter { $0.record.action == .wouldTerminate }
        #expect(rows.count == 1 && rows.first?.record.clusterID == "j-STOPPED")
    }

    @Test("a refused termination is journaled with AWS's code, the cluster set aside; a failed re-check keeps it")
    func failures() async throws {
        let h = try Harness()
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "stopped", cluster: "j-STOPPED", status: .aborted)
        // The re-check cannot read the cluster: nothing is terminated, nothing journaled as an intent.
        h.aws.fail(
            "elasticmapreduce.DescribeCluster",
            with: AWSError(
                kind: .transport,
                service: "elasticmapreduce",
                operation: "DescribeCluster",
                message: "reset"
            )
        )
        let unread = try await h.reconciler(grace: .zero).runPass()
        #expect(unread.terminated.isEmpty)
        #expect(h.aws.terminateCalls.isEmpty)
        // AWS refuses the call (an SCP): the outcome carries the code, and the cluster waits before another try.
        h.aws.fail(
            "elasticmapreduce.TerminateJobFlows",
            with: AWSError(
                kind: .service,
                service: "elasticmapreduce",
                operation: "TerminateJobFlows",
                code: "AccessDeniedException",
                message: "explicit deny in a service control policy",
                statusCode: 400
            )
        )
        let refused = try await h.reconciler(grace: .zero).runPass()
        #expect(refused.terminated.isEmpty)
        let failed = try h.ledger.journal.rows(after: 0).filter { $0.errorCode == "AccessDeniedException" }
        #expect(!failed.isEmpty && failed.allSatisfy { $0.record.clusterID == "j-STOPPED" })
        #expect(try h.ledger.journal.openIntents().isEmpty)
        let calls = h.aws.calls["elasticmapreduce.TerminateJobFlows"]
        #expect(calls == 1, "one cluster: tried alone once")
        h.clock.advance(.seconds(60))
        _ = try await h.reconciler(grace: .zero).runPass()
        #expect(h.aws.calls["elasticmapreduce.TerminateJobFlows"] == calls, "set aside: not tried again at once")
        h.clock.advance(.seconds(300))
        let later = try await h.reconciler(grace: .zero).runPass()
        #expect(later.terminated == ["j-STOPPED"], "\(later.decisions.map(\.reason)) \(h.aws.calls)")
    }
}
