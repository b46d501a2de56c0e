import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

@testable import CostGuardService

/// What a pass spends on ListExecutions as executions come and go (real executions on the emulator).
@Suite("ListExecutions paging")
struct ListingCostTests {
    @Test(
        "an ARN's account is its fifth field, empty when the ARN has none",
        arguments: [
            ("arn:aws:states:us-east-1:123456789012:stateMachine:m", "123456789012"),
            ("arn:aws:states:us-east-1:123456789012:execution:m:run:with:colons", "123456789012"),
            ("arn:aws:states:us-east-1::stateMachine:m", ""), ("arn:aws:states:us-east-1", ""), ("", ""),
            ("arn:aws-cn:states:cn-north-1:ünï-cødé:stateMachine:m", "ünï-cødé"),
        ]
    )
    func account(arn: String, account: String) {
        #expect(Reconciler.account(of: arn) == account)
    }

    @Test(
        "nothing new: one small newest-first page; more new executions than the first page holds: all are found on the next"
    )
    func newExecutions() async throws {
        let h = try await FailClosedTests().harness(["failed"])
        defer { h.emulator.stop() }
        let machine = try #require(h.scenarios["failed"]?.stateMachineArn)
        func listExecutionsCalls(_ body: () async throws -> Void) async rethrows -> Int {
            let before = h.transport.operations.count
            try await body()
            return h.transport.operations.dropFirst(before).filter { $0 == "ListExecutions" }.count
        }
        // Pass 1 (empty ledger): RUNNING list + one full newest-first page. Pass 2: nothing new.
        #expect(try await listExecutionsCalls { _ = try await h.reconciler.runPass() } == 2)
        #expect(try await listExecutionsCalls { _ = try await h.reconciler.runPass() } == 2)

        // 25 new executions: more than the first page's room for new ones (what the ledger has in the overlap + 10).
        let names = (0..<25).map { "burst-\($0)" }
        let started = try await h.emulator.startExecutions(machine, names: names)
        #expect(started.count == 25)
        let calls = try await listExecutionsCalls { _ = try await h.reconciler.runPass() }
        #expect(calls == 3, "RUNNING list, the small first page, then a full page")
        let recorded = try h.ledger.executions.rows(arns: started)
        #expect(recorded.count == 25, "every new execution is in the ledger")
        #expect(
            try await listExecutionsCalls { _ = try await h.reconciler.runPass() } == 2,
            "then one small page again"
        )
    }
}
