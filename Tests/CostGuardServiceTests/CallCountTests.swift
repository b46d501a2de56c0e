import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// A regression guard on what a pass costs in AWS calls: a scaled-down fleet of the issue-9 shape
/// (Benchmarks/fleet.py: state machines with and without EMR tasks, billing clusters held by RUNNING executions,
/// executions that ended with their own cluster terminated, and the ended bulk), then the exact calls of a first
/// pass and of a steady pass, by operation. A change that adds a call per machine, per execution or per cluster
/// fails here, with the counts side by side; `Benchmarks/scale.sh` measures the same at full size.
@Suite("AWS calls per pass (regression guard)")
struct CallCountTests {
    @Test("a first and a steady pass on a 12-machine fleet make exactly the expected calls, by operation")
    func callsPerPass() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let directory = try TestPaths.temporaryDirectory()
        let out = directory + "/fleet.json"
        let fleet = try await runToCompletion(
            TestPaths.python,
            [
                TestPaths.repositoryRoot + "/Benchmarks/fleet.py", "--endpoint", emulator.endpoint, "--control",
                emulator.control, "--machines", "12", "--emr-machines", "4", "--executions", "400", "--billing", "8",
                "--done-with-cluster", "4", "--out", out,
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        try #require(fleet.status == 0, "\(fleet.stderr.suffix(1500))")
        let environment = [
            "HOME": directory, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        ]
        let database = directory + "/ledger.sqlite"
        var passes: [[String: Int]] = []
        for _ in 0..<2 {
            let pass = try await runToCompletion(
                TestPaths.productsDirectory + "/costguard",
                ["reconcile", "--database", database],
                environment: environment
            )
            #expect(pass.status == 0, "\(pass.stderr)")
            let json = try #require(
                try Ledger.openReadOnly(path: database).testing_text(
                    "SELECT api_calls_json FROM passes ORDER BY id DESC LIMIT 1"
                )
            )
            passes.append(try JSONDecoder().decode([String: Int].self, from: Data(json.utf8)))
        }
        // The fleet: 12 state machines, 4 with EMR tasks; 400 executions of those (8 RUNNING holding a billing
        // cluster, 4 that terminated their own cluster, the rest ended without one).
        // First pass: one listing of machines; each machine described and its versions listed once (new); per EMR
        // machine, ListExecutions for RUNNING and for new ones; every history read once (first sight); one
        // ListClusters; a DescribeCluster for each tracked cluster the listing does not show (the 4 terminated).
        let expectedFirst: [String: Int] = [
            "states.ListStateMachines": 1, "states.DescribeStateMachine": 12, "states.ListStateMachineVersions": 12,
            "states.ListExecutions": 4 * 2, "states.GetExecutionHistory": 400, "elasticmapreduce.ListClusters": 1,
            "elasticmapreduce.DescribeCluster": 4,
        ]
        // Steady pass: nothing changed, so only the listings: 10 calls, whatever the number of executions.
        let expectedSteady: [String: Int] = [
            "states.ListStateMachines": 1, "states.ListExecutions": 4 * 2, "elasticmapreduce.ListClusters": 1,
        ]
        #expect(passes[0] == expectedFirst, "first pass: \(passes[0].sorted { $0.key < $1.key })")
        #expect(passes[1] == expectedSteady, "steady pass: \(passes[1].sorted { $0.key < $1.key })")
    }
}
