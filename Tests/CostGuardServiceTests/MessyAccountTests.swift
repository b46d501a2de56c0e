import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// `costguard reconcile`, the real binary, on an account as platform teams' accounts look (Tests/Emulator/
/// messy_scenarios.py): an EXPRESS front door, SDK tasks that name no cluster or name one another way, cluster ids
/// handed to other executions, a termination AWS refuses among a dozen orphans, a cluster created in another account.
/// The plain orphans beside them must be terminated within three passes; nothing that is handed on, refused or
/// unobservable is touched; and a pass that holds anything never exits 0.
@Suite("A messy account on the emulator", .serialized)
struct MessyAccountTests {
    @Test("every oddity is confined to what it concerns; every plain orphan goes within three passes")
    func messyAccount() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(script: "messy_scenarios.py")
        defer { world.emulator.stop() }
        let kept = world.scenarios.filter { $0.value.expect == "keep" && $0.key != "cross-account" }
        var before: [String: String] = [:]
        for scenario in kept.values {
            for id in scenario.clusterIds { before[id] = try await world.state(id) }
        }
        let orphans = world.scenarios.filter { $0.value.expect == "terminate" }.flatMap(\.value.clusterIds)
        #expect(orphans.count == 19)

        let doomed = try #require(world.scenarios["deleted-machine"])
        // Exemption patterns match the ARN forms people write: here an alias.
        let config = (world.environment["HOME"] ?? "/tmp") + "/messy.toml"
        try "[policy]\nexempt_state_machines = [\"*:stateMachine:versioned-pipeline:canary\"]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        var passes: [(status: Int32, stdout: String, stderr: String)] = []
        for round in 0..<3 {
            let pass = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s", "--config", config])
            passes.append(pass)
            if round == 0 {
                // Its creator was RUNNING: live. Now its state machine is deleted (and, in AWS, the execution with it).
                #expect(
                    try Ledger.openReadOnly(path: world.database).decisions.dispositions()[doomed.clusterIds[0]]
                        == "live"
                )
                // With it, a machine with no EMR task whose RUNNING execution the hand-off scan followed: once gone
                // it must hold nothing (its ListExecutions answers StateMachineDoesNotExist).
                let bystander = doomed.stateMachineArn.replacingOccurrences(
                    of: "deleted-machine",
                    with: "deleted-bystander"
                )
                for arn in [doomed.stateMachineArn, bystander] {
                    let deleted = try await runToCompletion(
                        TestPaths.python,
                        [
                            "-c",
                            "import boto3, sys; boto3.client('stepfunctions', endpoint_url=sys.argv[1], region_name='us-east-1', "
                                + "aws_access_key_id='setup', aws_secret_access_key='setup').delete_state_machine(stateMachineArn=sys.argv[2])",
                            world.emulator.endpoint, arn,
                        ],
                        environment: ["PATH": "/usr/bin:/bin"]
                    )
                    #expect(deleted.status == 0, "\(deleted.stderr)")
                }
            }
            // Held clusters (the refused one, the one in another account) are never silent: exit 4, every pass.
            #expect(pass.status == ExitStatus.degraded.rawValue, "\(pass.stderr)")
            #expect(pass.stderr.contains("held") || pass.stderr.contains("AccessDeniedException"), "\(pass.stderr)")
            // Nothing handed on, refused or unobservable changed state.
            for (name, scenario) in kept {
                for id in scenario.clusterIds {
                    #expect(try await world.state(id) == before[id], "\(name): \(id) changed")
                }
            }
            // EXPRESS is never listed (AWS would refuse), so it never degrades anything.
            #expect(!pass.stderr.contains("StateMachineTypeNotSupported"), "\(pass.stderr)")
        }
        // The plain orphans went in the first pass, whatever else is in the account (no region-wide stall from the
        // EXPRESS machine or the RUNNING listClusters execution).
        for name in ["plain-stopped", "plain-failed"] {
            let id = try #require(world.scenarios[name]?.clusterIds.first)
            #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id)), "\(name)")
        }
        // Ten at most per pass (the cap), less the refused one when it was among them.
        #expect(
            passes[0].stderr.contains("terminated 9;") || passes[0].stderr.contains("terminated 10;"),
            "\(passes[0].stderr)"
        )
        for id in orphans {
            #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id)), "\(id)")
        }

        let ledger = try Ledger.openReadOnly(path: world.database)
        let dispositions = try ledger.decisions.dispositions()
        for (name, scenario) in world.scenarios where scenario.disposition != "untracked" {
            for id in scenario.clusterIds {
                #expect(dispositions[id] == scenario.disposition, "\(name): \(id) is \(dispositions[id] ?? "nil")")
            }
        }
        let stray = try #require(world.scenarios["made-by-hand"]?.clusterIds.first)
        #expect(dispositions[stray] == nil, "a cluster no workflow created is never tracked")
        #expect(try ledger.clusters.untracked().map(\.id) == [stray])
        let journal = try ledger.journal.rows(limit: 10_000)
        // The refused cluster: every try journaled with AWS's code; the eleven others one success each.
        let refusedID = try #require(world.scenarios["refused-05"]?.clusterIds.first)
        let refusedOutcomes = journal.filter { $0.kind == .outcome && $0.record.clusterID == refusedID }
        #expect(!refusedOutcomes.isEmpty)
        #expect(refusedOutcomes.allSatisfy { $0.result == .failed && $0.errorCode == "AccessDeniedException" })
        // Set aside with backoff: tried once (in a batch of ten, then alone; or alone when its chunk held only it),
        // not again within 5 minutes.
        #expect((1...2).contains(refusedOutcomes.count), "\(refusedOutcomes.map(\.seq))")
        #expect(Set(refusedOutcomes.compactMap(\.passID)).count == 1, "all in one pass")
        for id in orphans {
            #expect(
                journal.filter { $0.kind == .outcome && $0.record.clusterID == id && $0.result == .succeeded }.count
                    == 1,
                "\(id)"
            )
        }
        // The cluster in another account was never described as ended or acted on here.
        let remote = try #require(world.scenarios["cross-account"]?.clusterIds.first)
        #expect(!journal.contains { $0.record.clusterID == remote && $0.kind != .decision })
        let report = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["report", "--database", world.database, "--format", "json", "--all"],
            environment: world.environment
        )
        #expect(report.stdout.contains("222222222222"), "\(report.stdout.prefix(2000))")
        #expect(report.stdout.contains("not observable"))
        #expect(report.stdout.contains("AccessDeniedException"))
        #expect(report.stdout.contains("handoff-input-worker-1"))
        #expect(report.stdout.contains("adhoc-analysis"), "the busy cluster names the step")
        #expect(report.stdout.contains("variable-handoff-finder-1"), "the variable hand-off names its holder")
        #expect(
            report.stdout.contains("names its instance group ig-"),
            "the resized cluster names the group and its user"
        )
        #expect(report.stdout.contains("\"untracked\": ["), "\(report.stdout.suffix(1500))")
        let table = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["report", "--database", world.database],
            environment: world.environment
        )
        #expect(table.stdout.contains("Untracked: 1 billing cluster(s)"), "\(table.stdout)")
        #expect(table.stdout.contains(stray))
        #expect(report.stdout.contains("its state machine was deleted"), "the deleted machine's orphan says why")
        // The clusters that end themselves: their reason says how, with the timeout; their auto-termination policy
        // was read (GetAutoTerminationPolicy) for the failed creators' candidates only.
        let selfEnding = try #require(world.scenarios["self-terminating-idle"]?.clusterIds.first)
        #expect(
            report.stdout.contains("its auto-termination policy ends it after 30m idle"),
            "\(report.stdout.prefix(3000))"
        )
        #expect(report.stdout.contains("AutoTerminate: EMR ends it when its steps finish"))
        // Once the wait is over they are orphans like any other, and the reason says they did not end themselves.
        let stepper = try #require(world.scenarios["self-terminating-step"]?.clusterIds.first)
        let late = try await world.reconcile(
            ["--grace", "0s", "--redrive-grace", "0s", "--self-termination-wait", "1s", "--config", config])
        #expect(
            late.status == ExitStatus.degraded.rawValue,
            "the refused and foreign clusters are still held: \(late.stderr)"
        )
        for id in [selfEnding, stepper] {
            #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id)), "\(id)")
        }
        let lateJournal = try Ledger.openReadOnly(path: world.database).journal.rows(limit: 10_000)
        #expect(
            lateJournal.contains {
                $0.kind == .intent && $0.record.clusterID == stepper && $0.record.reason.contains("did not end itself")
            }
        )
        let check = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["ledger", "check", "--database", world.database],
            environment: world.environment
        )
        #expect(check.status == 0, "\(check.stdout)")
        var leftBilling = 0
        for id in orphans where !["TERMINATED", "TERMINATING"].contains(try await world.state(id)) { leftBilling += 1 }
        let acted = Set(lateJournal.filter { $0.kind == .intent }.compactMap(\.record.clusterID))
        // The one AWS refuses is tried (batch, then alone) and set aside: it is not among those never tried.
        let keep = kept.values.flatMap(\.clusterIds).filter { ![selfEnding, stepper, refusedID].contains($0) }
        safetyFigure(
            "messy",
            "\(world.scenarios.count) cases on the real binary; \(orphans.count - leftBilling) of \(orphans.count) "
                + "orphans terminated within three passes; the 2 self-terminating clusters left, then terminated by a "
                + "fourth pass with a 1 s wait; \(keep.filter { !acted.contains($0) }.count) of \(keep.count) clusters "
                + "to keep never had a termination intent (the one AWS refuses was tried twice and set aside)"
        )
    }
}
