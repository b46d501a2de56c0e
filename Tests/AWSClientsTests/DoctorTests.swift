import AWSClients
import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// `costguard doctor`, the real binary, against the emulator with IAM enforced.
@Suite("costguard doctor")
struct DoctorTests {
    @Test("reports source, identity and endpoints; finds the missing permission; never prints the secret")
    func doctor() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let costguard = TestPaths.productsDirectory + "/costguard"
        for (user, expectedStatus) in [("guard", 0), ("reader", Int(ExitStatus.configuration.rawValue))] {
            let account = try #require(fixture.users[user])
            let environment = isolatedEnvironment(
                [
                    "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
                    "AWS_ACCESS_KEY_ID": account.accessKeyId, "AWS_SECRET_ACCESS_KEY": account.secretAccessKey,
                ],
                home: try temporaryHome()
            )
            let result = try await runToCompletion(costguard, ["doctor"], environment: environment)
            #expect(Int(result.status) == expectedStatus, "\(user): \(result.stdout) \(result.stderr)")
            #expect(result.stdout.contains("region          us-east-1 (from AWS_REGION)"))
            #expect(result.stdout.contains("credentials     environment (access key \(account.accessKeyId.prefix(4))…"))
            #expect(result.stdout.contains("identity        \(account.arn)"))
            #expect(result.stdout.contains("endpoint sfn    \(emulator.endpoint) (AWS_ENDPOINT_URL)"))
            #expect(result.stdout.contains("CA bundle       the system's"))
            #expect(result.stdout.contains("ok       elasticmapreduce:DescribeCluster"))
            #expect(result.stdout.contains("skipped  elasticmapreduce:TerminateJobFlows"))
            #expect(!(result.stdout + result.stderr).contains(account.secretAccessKey))
            #expect(result.stdout.contains("express  express-front-door: not followable (EXPRESS"), "\(result.stdout)")
            #expect(result.stdout.contains("2 state machine(s): 1 followed"), "\(result.stdout)")
            if user == "reader" {
                #expect(result.stdout.contains("DENIED   states:GetExecutionHistory"))
                #expect(result.stderr.contains("1 permission(s) missing"))
            } else {
                #expect(!result.stdout.contains("DENIED"))
            }
        }
        // No credentials anywhere: exit 78 and the list of what was tried.
        let none = try await runToCompletion(
            costguard,
            ["doctor", "--region", "us-east-1"],
            environment: isolatedEnvironment(["AWS_ENDPOINT_URL": emulator.endpoint], home: try temporaryHome())
        )
        #expect(none.status == ExitStatus.configuration.rawValue)
        #expect(none.stderr.contains("no AWS credentials found. Tried, in order: environment"))
        // An unreadable CA bundle stops doctor and reconcile before any call, naming the setting.
        let home = try temporaryHome()
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try "[default]\nca_bundle = ~/missing-ca.pem\n".write(
            toFile: home + "/.aws/config",
            atomically: true,
            encoding: .utf8
        )
        let environment = isolatedEnvironment(
            ["AWS_ENDPOINT_URL": emulator.endpoint, "AWS_REGION": "us-east-1"],
            home: home
        )
        for arguments in [["doctor"], ["reconcile", "--database", home + "/ledger.sqlite"]] {
            let broken = try await runToCompletion(costguard, arguments, environment: environment)
            #expect(broken.status == ExitStatus.configuration.rawValue, "\(arguments): \(broken.stderr)")
            #expect(
                broken.stderr.contains(
                    "cannot read the CA bundle \(home)/missing-ca.pem (set by ca_bundle of profile default in"
                ),
                "\(arguments): \(broken.stderr)"
            )
        }
        #expect(!FileManager.default.fileExists(atPath: home + "/ledger.sqlite"), "nothing was created")
    }
}
