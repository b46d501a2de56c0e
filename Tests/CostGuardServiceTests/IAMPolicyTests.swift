import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// `Deploy/iam-policy.json` against moto with signature and IAM enforcement on.
@Suite("The shipped IAM policy", .serialized)
struct IAMPolicyTests {
    @Test("allows every call a reconcile pass makes, and the policy's actions are exactly those CostGuard may call")
    func leastPrivilege() async throws {
        var world = try await ReconcileScenarioTests().makeWorld(only: [
            "stopped-while-waiting", "protected", "still-running", "shared", "succeeded-left-running",
        ])
        defer { world.emulator.stop() }
        let fixture = try await world.emulator.setUpIAM(seed: false)
        let deployed = try #require(fixture.users["deployed"])
        world.environment["AWS_ACCESS_KEY_ID"] = deployed.accessKeyId
        world.environment["AWS_SECRET_ACCESS_KEY"] = deployed.secretAccessKey
        let config = (world.environment["HOME"] ?? "/tmp") + "/unprotect.toml"
        try "[policy]\ngrace = \"0s\"\nredrive_grace = \"0s\"\nunprotect = true\n".write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        let pass = try await world.reconcile(["--config", config])
        // report-only (SUCCEEDED) remains: exit 3; anything denied would make the pass degraded (exit 4).
        #expect(pass.status == ExitStatus.orphansRemain.rawValue, "\(pass.stderr)")
        #expect(!pass.stderr.contains("AccessDenied"), "\(pass.stderr)")
        #expect(pass.stderr.contains("terminated 2;"), "\(pass.stderr)")

        // Every operation the passes called is allowed by the policy, and the policy allows nothing else.
        let policy =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: TestPaths.repositoryRoot + "/Deploy/iam-policy.json"))
            ) as! [String: Any]
        let allowed = Set((policy["Statement"] as! [[String: Any]]).flatMap { $0["Action"] as! [String] })
        let ledger = try Ledger.openReadOnly(path: world.database)
        let called = try ledger.testing_apiCalls().map {
            $0.replacingOccurrences(of: "states.", with: "states:")
                .replacingOccurrences(of: "elasticmapreduce.", with: "elasticmapreduce:")
        }
        #expect(Set(called).isSubset(of: allowed), "called but not allowed: \(Set(called).subtracting(allowed))")
        let mayCall: Set<String> = [
            "states:ListStateMachines", "states:DescribeStateMachine", "states:ListStateMachineVersions",
            "states:ListExecutions", "states:DescribeExecution",
            "states:GetExecutionHistory", "states:ListMapRuns", "elasticmapreduce:ListClusters",
            "elasticmapreduce:DescribeCluster", "elasticmapreduce:ListSteps", "elasticmapreduce:ListInstanceGroups",
            "elasticmapreduce:ListInstanceFleets", "elasticmapreduce:GetAutoTerminationPolicy",
            "elasticmapreduce:TerminateJobFlows", "elasticmapreduce:SetTerminationProtection",
        ]
        #expect(allowed == mayCall)
        #expect(!allowed.contains { $0.contains("*") }, "no wildcard actions")

        // A call outside the policy is denied for this user.
        let denied = try await runToCompletion(
            TestPaths.python,
            [
                "-c",
                """
                import boto3, sys
                c = boto3.client("stepfunctions", endpoint_url=sys.argv[1], region_name="us-east-1",
                                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
                try:
                    c.stop_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:x:y")
                    print("allowed")
                except Exception as e:
                    print("denied" if "not authorized" in str(e) or "AccessDenied" in str(e) or "403" in str(e) else repr(e))
                """, world.emulator.endpoint, deployed.accessKeyId, deployed.secretAccessKey,
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(denied.stdout.contains("denied"), "\(denied.stdout) \(denied.stderr)")
    }
}
