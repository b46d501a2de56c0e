import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// Randomized end-to-end scenarios (Tests/Emulator/random_scenarios.py) on the emulator, against the generator's
/// reference model, with the real binary; then the same through a fault-injecting proxy at a 20% fault rate.
///
/// Seeds and sizes: `COSTGUARD_RANDOM_SEED` (default fixed, printed), `COSTGUARD_RANDOM_SCENARIOS` (default 200;
/// set 1000+ for a nightly-sized run), `COSTGUARD_FAULT_SCENARIOS` (default 60).
@Suite("Randomized scenarios against a reference model", .serialized)
struct RandomScenarioTests {
    struct Plan: Decodable {
        struct Spec: Decodable {
            var name: String
            var shape: String
            var fate: String
            var executionStatus: String
            var clusterIds: [String]
            var expect: [String: String]
            var shared: Bool?
            var handoff: Bool?
            var busy: Bool?
        }
        var seed: Int
        var scenarios: [Spec]
        var strays: [String]
    }

    static let environment = ProcessInfo.processInfo.environment
    static var seed: Int { Int(environment["COSTGUARD_RANDOM_SEED"] ?? "") ?? 20_261_124 }
    static let unpaced =
        (try? TestPaths.temporaryDirectory()).map { $0 + "/unpaced.toml" } ?? "/tmp/costguard-unpaced.toml"

    struct Run {
        var world: ReconcileScenarioTests.World
        var plan: Plan
        var baseline: [String: String]

        var expectations: [String: String] {
            var all: [String: String] = [:]
            for spec in plan.scenarios { all.merge(spec.expect) { $1 } }
            for id in plan.strays { all[id] = "keep" }
            return all
        }

        /// The invariants after any pass: nothing CostGuard must keep changed state; every intent names a cluster
        /// the model terminates, at most once; every cluster that left WAITING for CostGuard has its intent.
        func checkInvariants(pass: Int, faults: Bool) async throws -> [String] {
            var violations: [String] = []
            let journal = try Ledger.openReadOnly(path: world.database).journal.rows()
            var intents: [String: Int] = [:]
            for entry in journal where entry.kind == .intent && entry.record.action == .terminate {
                intents[entry.record.clusterID ?? "", default: 0] += 1
            }
            for (id, expect) in expectations {
                let state = try await world.state(id)
                if expect == "keep" && state != baseline[id] {
                    violations.append("pass \(pass): \(id) (keep) went \(baseline[id] ?? "?") → \(state)")
                }
                if expect == "keep" && intents[id] != nil {
                    violations.append("pass \(pass): intent to terminate \(id) (keep)")
                }
                if state != baseline[id] && baseline[id] == "WAITING" && intents[id] == nil {
                    violations.append("pass \(pass): \(id) left WAITING without a journal intent")
                }
                // Without faults every call succeeds, so a second intent would be a repeat; with faults an intent
                // whose outcome was unknown is completed by a describe, never re-sent blindly — so still one.
                if (intents[id] ?? 0) > 1 {
                    violations.append("pass \(pass): \(id) has \(intents[id]!) terminate intents")
                }
            }
            _ = faults
            return violations
        }

        func pending() async throws -> [String] {
            var left: [String] = []
            for (id, expect) in expectations where expect == "terminate" {
                if !["TERMINATED", "TERMINATING"].contains(try await world.state(id)) { left.append(id) }
            }
            return left.sorted()
        }
    }

    func makeRun(seed: Int, count: Int) async throws -> Run {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["none"])
        let out = try TestPaths.temporaryDirectory() + "/random.json"
        let setup = try await runToCompletion(
            TestPaths.python,
            [
                TestPaths.emulatorScript("random_scenarios.py"), "--endpoint", world.emulator.endpoint, "--control",
                world.emulator.control, "--seed", "\(seed)", "--count", "\(count)", "--out", out,
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        guard setup.status == 0 else {
            world.emulator.stop()
            throw TestKitError("random_scenarios.py failed: \(setup.stderr.suffix(2000))")
        }
        let plan = try JSONDecoder().decode(Plan.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        // The emulator does not throttle, and with the default EMR limits a pass over 150 orphans would spend ten
        // minutes waiting for tokens (the limiter has its own tests): unpaced here.
        try "[rate_limits]\nenabled = false\n".write(toFile: Self.unpaced, atomically: true, encoding: .utf8)
        var baseline: [String: String] = [:]
        for spec in plan.scenarios { for id in spec.clusterIds { baseline[id] = try await world.state(id) } }
        for id in plan.strays { baseline[id] = try await world.state(id) }
        return Run(world: world, plan: plan, baseline: baseline)
    }

    func summary(_ plan: Plan) -> String {
        var fates: [String: Int] = [:]
        var shapes: [String: Int] = [:]
        for spec in plan.scenarios {
            fates[spec.fate, default: 0] += 1
            shapes[spec.shape, default: 0] += 1
        }
        let clusters = plan.scenarios.reduce(0) { $0 + $1.clusterIds.count }
        let orphans = plan.scenarios.reduce(0) { $0 + $1.expect.values.filter { $0 == "terminate" }.count }
        let inUse = [("shared", \Plan.Spec.shared), ("handoff", \Plan.Spec.handoff), ("busy", \Plan.Spec.busy)].map {
            name,
            flag in
            "\(name) \(plan.scenarios.filter { $0[keyPath: flag] == true }.count)"
        }
        return "seed \(plan.seed): \(plan.scenarios.count) scenarios, \(clusters) clusters (\(orphans) true orphans), "
            + "\(plan.strays.count) strays; fates \(counted(fates)); shapes \(counted(shapes)); "
            + "in use by another: \(inUse.joined(separator: ", "))"
    }

    /// `a 3, b 5`, by name.
    func counted(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    @Test("every true orphan terminated within two passes, nothing else touched, the journal complete")
    func randomized() async throws {
        let count = Int(Self.environment["COSTGUARD_RANDOM_SCENARIOS"] ?? "") ?? 200
        let run = try await makeRun(seed: Self.seed, count: count)
        defer { run.world.emulator.stop() }
        #expect(run.plan.scenarios.count == count)
        var violations: [String] = []
        for pass in 1...3 {
            let result = try await run.world.reconcile([
                "--grace", "0s", "--max-terminations", "1000", "--config", Self.unpaced,
            ])
            #expect([0, 3].contains(result.status), "pass \(pass): \(result.stderr.suffix(1000))")
            violations += try await run.checkInvariants(pass: pass, faults: false)
            if pass == 2 {
                let left = try await run.pending()
                #expect(left.isEmpty, "true orphans not terminated after two passes: \(left)")
            }
        }
        #expect(violations.isEmpty, "\(violations.prefix(20))")
        let check = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["ledger", "check", "--database", run.world.database],
            environment: run.world.environment
        )
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(try Ledger.openReadOnly(path: run.world.database).journal.openIntents().isEmpty)
        safetyFigure(
            "randomized",
            "\(summary(run.plan)); \(violations.count) invariant violations over 3 passes, "
                + "\(try await run.pending().count) true orphans left"
        )
    }

    @Test("at a 20% fault rate the invariants hold; once faults stop, every orphan is handled within two passes")
    func underFaults() async throws {
        let count = Int(Self.environment["COSTGUARD_FAULT_SCENARIOS"] ?? "") ?? 60
        let run = try await makeRun(seed: Self.seed + 1, count: count)
        defer { run.world.emulator.stop() }
        let port = freeLoopbackPort()
        let proxy = try await BackgroundProcess.start(
            TestPaths.python,
            [
                TestPaths.emulatorScript("fault_proxy.py"), "--port", "\(port)", "--upstream",
                run.world.emulator.endpoint,
                "--rate", "0.2", "--seed", "\(Self.seed)",
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            readyPrefix: "ready"
        )
        defer { proxy.stop() }
        var environment = run.world.environment
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(port)"
        var violations: [String] = []
        var statuses: [Int32] = []
        for pass in 1...6 {
            let result = try await runToCompletion(
                TestPaths.productsDirectory + "/costguard",
                [
                    "reconcile", "--database", run.world.database, "--grace", "0s", "--max-terminations", "1000",
                    "--config", Self.unpaced,
                ],
                environment: environment
            )
            statuses.append(result.status)
            #expect([0, 3, 4].contains(result.status), "pass \(pass): \(result.stderr.suffix(1000))")
            violations += try await run.checkInvariants(pass: pass, faults: true)
        }
        let stats = try await runToCompletion(
            "/usr/bin/env",
            [
                "python3", "-c", "import urllib.request,sys;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                "http://127.0.0.1:\(port)/__faults",
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        let injected = stats.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(statuses.contains(4), "a 20% fault rate should degrade some pass: \(statuses)")
        // Faults off: two clean passes (straight to the emulator) handle every orphan left.
        for pass in 7...8 {
            let result = try await run.world.reconcile([
                "--grace", "0s", "--max-terminations", "1000", "--config", Self.unpaced,
            ])
            #expect([0, 3].contains(result.status), "pass \(pass): \(result.stderr.suffix(1000))")
            violations += try await run.checkInvariants(pass: pass, faults: false)
        }
        let left = try await run.pending()
        #expect(left.isEmpty, "true orphans left two passes after the faults stopped: \(left)")
        safetyFigure(
            "faults",
            "\(summary(run.plan)) through the proxy at 20 %; faults injected over 6 passes: \(injected); exit codes "
                + "\(statuses); \(violations.count) invariant violations; \(left.count) true orphans left after two "
                + "clean passes"
        )
        #expect(violations.isEmpty, "\(violations.prefix(20))")
        let check = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["ledger", "check", "--database", run.world.database],
            environment: run.world.environment
        )
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(try Ledger.openReadOnly(path: run.world.database).journal.openIntents().isEmpty)
    }
}
