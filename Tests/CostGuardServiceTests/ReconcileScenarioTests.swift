import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// `costguard reconcile`, the real binary, against real Step Functions executions on the emulator.
@Suite("Reconcile scenarios on the emulator", .serialized)
struct ReconcileScenarioTests {
    struct Scenario: Decodable, Sendable {
        var stateMachineArn: String
        var executionArn: String
        var clusterIds: [String]
        var executionStatus: String
        var expect: String
        var disposition: String
    }

    struct World: Sendable {
        var emulator: Emulator
        var scenarios: [String: Scenario]
        var environment: [String: String]
        var database: String
        var emr: EMRClient

        func reconcile(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await runToCompletion(
                TestPaths.productsDirectory + "/costguard",
                ["reconcile", "--database", database] + arguments,
                environment: environment
            )
        }

        func state(_ id: String) async throws -> String { try await emr.describeCluster(id).status.state }
    }

    /// Starts an emulator and builds the scenarios of `script` (`scenarios.py`, or another script writing the same
    /// JSON shape) on it.
    func makeWorld(only: [String] = [], script: String = "scenarios.py") async throws -> World {
        let emulator = try await Emulator.start()
        let directory = try TestPaths.temporaryDirectory()
        let out = directory + "/scenarios.json"
        var arguments = [TestPaths.emulatorScript(script), "--endpoint", emulator.endpoint, "--out", out]
        if !only.isEmpty { arguments += ["--only", only.joined(separator: ",")] }
        let setup = try await runToCompletion(TestPaths.python, arguments, environment: ["PATH": "/usr/bin:/bin"])
        guard setup.status == 0 else { throw TestKitError("\(script) failed: \(setup.stderr.suffix(1500))") }
        let scenarios = try JSONDecoder().decode(
            [String: Scenario].self,
            from: Data(contentsOf: URL(fileURLWithPath: out))
        )
        let environment = [
            "HOME": directory, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        ]
        let settings = try await AWSSettings.resolve(environment: environment, transport: AsyncHTTPClientTransport())
        let context = AWSCallContext()
        let emr = EMRClient(
            client: try settings.client(
                .emr,
                credentials: try settings.credentialChain(context: context),
                context: context
            )
        )
        return World(
            emulator: emulator,
            scenarios: scenarios,
            environment: environment,
            database: directory + "/ledger.sqlite",
            emr: emr
        )
    }

    @Test("dry run changes nothing; the real pass terminates exactly the orphans; the journal pairs every intent")
    func scenarios() async throws {
        let world = try await makeWorld()
        defer { world.emulator.stop() }
        #expect(world.scenarios.count == 13)
        var before: [String: String] = [:]
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds { before[id] = try await world.state(id) }
        }

        let dry = try await world.reconcile(["--dry-run", "--grace", "0s", "--redrive-grace", "0s"])
        #expect(dry.status == ExitStatus.orphansRemain.rawValue, "\(dry.stderr)")
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds { #expect(try await world.state(id) == before[id], "dry run changed \(id)") }
        }
        var ledger = try Ledger.openReadOnly(path: world.database)
        let dryJournal = try ledger.journal.rows()
        #expect(dryJournal.allSatisfy { $0.kind == .decision && $0.record.dryRun })
        let wouldTerminate = Set(
            dryJournal.filter { $0.record.action == .wouldTerminate }.compactMap(\.record.clusterID)
        )
        let orphans = Set(world.scenarios.values.filter { $0.expect == "terminate" }.flatMap(\.clusterIds))
        #expect(wouldTerminate == orphans)

        let real = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        // Protected, report-only and exempt orphans remain: exit 3.
        #expect(real.status == ExitStatus.orphansRemain.rawValue, "\(real.stderr)")
        for (name, scenario) in world.scenarios {
            for id in scenario.clusterIds {
                let state = try await world.state(id)
                if scenario.expect == "terminate" {
                    #expect(state == "TERMINATED" || state == "TERMINATING", "\(name): \(id) is \(state)")
                } else {
                    #expect(state == before[id], "\(name): \(id) changed from \(before[id] ?? "?") to \(state)")
                }
            }
        }
        ledger = try Ledger.openReadOnly(path: world.database)
        let dispositions = try ledger.decisions.dispositions()
        for (name, scenario) in world.scenarios {
            for id in scenario.clusterIds {
                #expect(dispositions[id] == scenario.disposition, "\(name): \(id) is \(dispositions[id] ?? "nil")")
            }
        }
        let journal = try ledger.journal.rows()
        let intents = journal.filter { $0.kind == .intent }
        let outcomes = journal.filter { $0.kind == .outcome }
        #expect(Set(intents.compactMap(\.record.clusterID)) == orphans)
        #expect(intents.count == outcomes.count)
        for outcome in outcomes {
            let intent = try #require(intents.first { $0.seq == outcome.intentSeq })
            #expect(intent.seq < outcome.seq)
            #expect(outcome.result == .succeeded)
            #expect(outcome.requestID != nil)
        }
        #expect(try ledger.journal.openIntents().isEmpty)

        // A second pass acts on nothing new and terminates nothing twice.
        let again = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        #expect(again.status == ExitStatus.orphansRemain.rawValue)
        #expect(
            try Ledger.openReadOnly(path: world.database).journal.rows().filter { $0.kind == .intent }.count
                == intents.count
        )
        let check = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["ledger", "check", "--database", world.database],
            environment: world.environment
        )
        #expect(check.status == 0, "\(check.stdout)")
    }

    @Test("the grace period, the cap and the unprotect opt-in (from a config file)")
    func graceCapUnprotect() async throws {
        let world = try await makeWorld(only: [
            "stopped-while-waiting", "failed", "timed-out", "protected", "parallel-branch",
        ])
        defer { world.emulator.stop() }
        // Default grace (15 min): everything just ended, so nothing is touched, and nothing needs attention yet.
        let grace = try await world.reconcile([])
        #expect(grace.status == 0, "\(grace.stderr)")
        #expect(grace.stderr.contains("grace=5"), "\(grace.stderr)")
        // A cap of 2: two terminated, the rest deferred.
        let config = (world.environment["HOME"] ?? "/tmp") + "/costguard.toml"
        try """
        # test configuration
        [policy]
        grace = "0s"
        redrive_grace = "0s"
        max_terminations_per_pass = 2
        unprotect = true
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let capped = try await world.reconcile(["--config", config])
        #expect(capped.status == ExitStatus.orphansRemain.rawValue)
        #expect(capped.stderr.contains("terminated 2;"), "\(capped.stderr)")
        #expect(capped.stderr.contains("deferred=3"), "\(capped.stderr)")
        let rest = try await world.reconcile(["--config", config, "--max-terminations", "10"])
        #expect(rest.status == 0, "\(rest.stderr)")
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds { #expect(try await world.state(id) == "TERMINATED", "\(id)") }
        }
        // The protected cluster lost its protection first, journaled as its own intent and outcome.
        let protectedID = try #require(world.scenarios["protected"]?.clusterIds.first)
        let journal = try Ledger.openReadOnly(path: world.database).journal.rows().filter {
            $0.record.clusterID == protectedID
        }
        #expect(
            journal.filter { $0.kind != .decision }.map { "\($0.kind):\($0.record.action.rawValue)" }
                == ["intent:unprotect", "outcome:unprotect", "intent:terminate", "outcome:terminate"]
        )
    }

    @Test("redrivable executions get the redrive grace; a redriven execution's cluster is live again")
    func redrive() async throws {
        let world = try await makeWorld(only: ["stopped-while-waiting", "failed"])
        defer { world.emulator.stop() }
        let stopped = try #require(world.scenarios["stopped-while-waiting"])
        let failed = try #require(world.scenarios["failed"])
        try await world.emulator.setRedriveStatus(stopped.executionArn, "REDRIVABLE")
        try await world.emulator.setRedriveStatus(failed.executionArn, "REDRIVABLE")
        // Past the grace, within the redrive grace: nothing is touched.
        let first = try await world.reconcile(["--grace", "0s", "--redrive-grace", "1h"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("grace=2"), "\(first.stderr)")
        // One execution is redriven back to RUNNING (same ARN): its cluster is live, whatever the grace.
        try await world.emulator.redrive(stopped.executionArn)
        let second = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        #expect(second.stderr.contains("terminated 1;"), "\(second.stderr)")
        #expect(try await world.state(stopped.clusterIds[0]) == "WAITING")
        #expect(try await world.state(failed.clusterIds[0]) == "TERMINATED")
        let dispositions = try Ledger.openReadOnly(path: world.database).decisions.dispositions()
        #expect(dispositions[stopped.clusterIds[0]] == "live")
    }

    @Test("a bad config file is refused with the line and key; bad flags are usage errors")
    func badInput() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let config = directory + "/bad.toml"
        try "[policy]\ngrace = \"15m\"\nmax_termination = 3\n".write(toFile: config, atomically: true, encoding: .utf8)
        let environment = [
            "HOME": directory, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
        ]
        let costguard = TestPaths.productsDirectory + "/costguard"
        let bad = try await runToCompletion(
            costguard,
            ["reconcile", "--config", config, "--database", directory + "/l.sqlite"],
            environment: environment
        )
        #expect(bad.status == ExitStatus.configuration.rawValue)
        #expect(bad.stderr.contains("\(config) line 3: unknown key 'policy.max_termination'"), "\(bad.stderr)")
        try "[policy]\ngrace = \"soon\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let value = try await runToCompletion(
            costguard,
            ["reconcile", "--config", config, "--database", directory + "/l.sqlite"],
            environment: environment
        )
        #expect(value.stderr.contains("line 2: policy.grace = \"soon\" is not a duration"), "\(value.stderr)")
        let flag = try await runToCompletion(costguard, ["reconcile", "--grace", "later"], environment: environment)
        #expect(flag.status == ExitStatus.usage.rawValue)
        #expect(flag.stderr.contains("--grace 'later' is not a duration"))
        #expect(
            !FileManager.default.fileExists(atPath: directory + "/l.sqlite"),
            "a refused run must not create a ledger"
        )
    }
}
