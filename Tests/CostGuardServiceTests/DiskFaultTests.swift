import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// The real binary against disk and database faults, with real orphans on the emulator: a full file system (a
/// small tmpfs in a private mount namespace), a read-only state directory (a read-only bind mount), a damaged
/// ledger and a ledger from a future schema. Each ends in a clear error and exit code, the ledger checks out
/// afterwards, and no cluster is terminated without its journal intent.
@Suite("Disk and database faults (real binary, mount namespaces)", .serialized)
struct DiskFaultTests {
    static let costguard = TestPaths.productsDirectory + "/costguard"

    /// Whether this machine lets a test make a mount namespace with a tmpfs (root, or CAP_SYS_ADMIN).
    static let canMount: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs `script` (sh) in a private mount namespace.
    func inNamespace(
        _ script: String,
        environment: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runToCompletion("/usr/bin/unshare", ["-m", "sh", "-c", script], environment: environment)
    }

    /// The clusters with a journal intent in this ledger.
    func intents(_ database: String) throws -> Set<String> {
        Set(
            try Ledger.openReadOnly(path: database).journal.rows().filter { $0.kind == .intent }.compactMap(
                \.record.clusterID
            )
        )
    }

    /// Clusters that left WAITING without a journal intent in any of these ledgers.
    func unjournaledTerminations(
        _ world: ReconcileScenarioTests.World,
        intents: Set<String>,
        before: [String: String]
    ) async throws -> [String] {
        var missing: [String] = []
        for (id, state) in before where state == "WAITING" {
            let now = try await world.state(id)
            if now != "WAITING" && !intents.contains(id) { missing.append("\(id) \(now)") }
        }
        return missing
    }

    @Test(
        "a full disk at every stage of a pass: exit 74 naming the full disk, the ledger checks out, no termination without its intent",
        .enabled(if: DiskFaultTests.canMount || TestEnvironment.isCI, "needs mount namespaces (root)")
    )
    func fullDisk() async throws {
        // Under CI=true this test runs or fails: a CI machine without mount namespaces is a broken CI machine.
        try #require(Self.canMount, "CI=true: the disk-fault tests need mount namespaces (run as root, or unshare -m)")
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting", "failed", "timed-out"])
        defer { world.emulator.stop() }
        var before: [String: String] = [:]
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds { before[id] = try await world.state(id) }
        }
        // A ledger that has seen everything (dry run), then passes on file systems with less and less room.
        let dry = try await world.reconcile(["--dry-run", "--grace", "0s", "--redrive-grace", "0s"])
        #expect(dry.status == ExitStatus.orphansRemain.rawValue, "\(dry.stderr)")
        let seed = try TestPaths.temporaryDirectory()
        _ = try await runToCompletion(
            Self.costguard,
            ["ledger", "backup", "--database", world.database, seed + "/ledger.sqlite"],
            environment: world.environment
        )
        let size = try FileManager.default.attributesOfItem(atPath: seed + "/ledger.sqlite")[.size] as? Int ?? 0
        var statuses: [Int32] = []
        var journaled: Set<String> = []
        // Room left after the copy, in KiB: the WAL and its index need 32 KiB+ before the first commit.
        for room in [4, 36, 48, 64, 96, 160, 4096] {
            let work = try TestPaths.temporaryDirectory()
            let mount = work + "/disk"
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            let kib = (size / 1024 + 1 + room + 3) / 4 * 4
            let run = try await inNamespace(
                """
                mount -t tmpfs -o size=\(kib)k tmpfs '\(mount)' || exit 90
                cp '\(seed)/ledger.sqlite' '\(mount)/ledger.sqlite' || exit 91
                '\(Self.costguard)' reconcile --database '\(mount)/ledger.sqlite' --grace 0s --redrive-grace 0s
                status=$?
                cp '\(mount)'/ledger.sqlite* '\(work)/'
                exit $status
                """,
                environment: world.environment
            )
            statuses.append(run.status)
            #expect(
                [0, 3, 4, ExitStatus.ledgerUnavailable.rawValue].contains(run.status),
                "room \(room) KiB: \(run.status) \(run.stderr)"
            )
            if run.status == ExitStatus.ledgerUnavailable.rawValue {
                #expect(run.stderr.contains("full"), "room \(room) KiB: \(run.stderr)")
                #expect(run.stderr.contains("Fix:"), "\(run.stderr)")
            }
            // Nothing half-written: the copy checks out (SQLite recovers the WAL), and every cluster that left
            // WAITING has its intent in this ledger or an earlier one.
            let check = try await runToCompletion(
                Self.costguard,
                ["ledger", "check", "--database", work + "/ledger.sqlite"],
                environment: world.environment
            )
            #expect(check.status == 0, "room \(room) KiB: \(check.stdout) \(check.stderr)")
            journaled.formUnion(try intents(work + "/ledger.sqlite"))
            #expect(
                try await unjournaledTerminations(world, intents: journaled, before: before).isEmpty,
                "room \(room) KiB"
            )
        }
        safetyFigure(
            "full-disk",
            "exit status by room left (KiB): \(Array(zip([4, 36, 48, 64, 96, 160, 4096], statuses)))"
        )
        #expect(statuses.contains(ExitStatus.ledgerUnavailable.rawValue), "no run hit the full disk: \(statuses)")
        // The real pass with room: the orphans are terminated, each after its intent.
        let pass = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        #expect([0, 3].contains(pass.status), "\(pass.stderr)")
        journaled.formUnion(try intents(world.database))
        #expect(try await unjournaledTerminations(world, intents: journaled, before: before).isEmpty)
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds {
                #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id)))
            }
        }
    }

    @Test(
        "a read-only state directory, a damaged ledger, a ledger from a future schema: refused, file untouched, nothing terminated",
        .enabled(if: DiskFaultTests.canMount || TestEnvironment.isCI, "needs mount namespaces (root)")
    )
    func refusals() async throws {
        // Under CI=true this test runs or fails: a CI machine without mount namespaces is a broken CI machine.
        try #require(Self.canMount, "CI=true: the disk-fault tests need mount namespaces (run as root, or unshare -m)")
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting", "failed"])
        defer { world.emulator.stop() }
        let dry = try await world.reconcile(["--dry-run", "--grace", "0s", "--redrive-grace", "0s"])
        #expect(dry.status == ExitStatus.orphansRemain.rawValue, "\(dry.stderr)")
        let directory = (world.database as NSString).deletingLastPathComponent
        func digest(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

        // Read-only: the directory is bind-mounted read-only over itself.
        let before = try digest(world.database)
        let readOnly = try await inNamespace(
            """
            mount --bind '\(directory)' '\(directory)' && mount -o remount,bind,ro '\(directory)' || exit 90
            exec '\(Self.costguard)' reconcile --database '\(world.database)' --grace 0s --redrive-grace 0s
            """,
            environment: world.environment
        )
        #expect(readOnly.status == ExitStatus.ledgerUnavailable.rawValue, "\(readOnly.stderr)")
        #expect(readOnly.stderr.contains("read-only"), "\(readOnly.stderr)")
        #expect(try digest(world.database) == before)

        // Damaged: one page in the middle overwritten with noise.
        let damaged = try TestPaths.temporaryDirectory() + "/ledger.sqlite"
        _ = try await runToCompletion(
            Self.costguard,
            ["ledger", "backup", "--database", world.database, damaged],
            environment: world.environment
        )
        var bytes = try digest(damaged)
        let pageSize = 4096
        let page = max(2, bytes.count / pageSize / 2)
        var generator = SystemRandomNumberGenerator()
        for offset in (page * pageSize)..<min(bytes.count, (page + 1) * pageSize) {
            bytes[offset] = UInt8.random(in: 0...255, using: &generator)
        }
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let corrupt = try await runToCompletion(
            Self.costguard,
            ["reconcile", "--database", damaged, "--grace", "0s", "--redrive-grace", "0s"],
            environment: world.environment
        )
        #expect(corrupt.status == ExitStatus.ledgerUnavailable.rawValue, "\(corrupt.stderr)")
        #expect(
            corrupt.stderr.contains("damage") || corrupt.stderr.contains("corrupt")
                || corrupt.stderr.contains("malformed"),
            "\(corrupt.stderr)"
        )
        #expect(try digest(damaged) == bytes)
        let checkDamaged = try await runToCompletion(
            Self.costguard,
            ["ledger", "check", "--database", damaged],
            environment: world.environment
        )
        #expect(
            checkDamaged.status == ExitStatus.ledgerCheckFailed.rawValue
                || checkDamaged.status == ExitStatus.ledgerUnavailable.rawValue,
            "\(checkDamaged.stdout) \(checkDamaged.stderr)"
        )

        // From a future schema: a migration this binary does not know.
        let future = try TestPaths.temporaryDirectory() + "/ledger.sqlite"
        _ = try await runToCompletion(
            Self.costguard,
            ["ledger", "backup", "--database", world.database, future],
            environment: world.environment
        )
        let bump = try await runToCompletion(
            TestPaths.python,
            [
                "-c",
                """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1])
                c.execute("INSERT INTO costguard_migrations VALUES (99, '0099_future.sql', 'x', '2030-01-01T00:00:00Z')")
                c.commit()
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                """, future,
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(bump.status == 0, "\(bump.stderr)")
        let futureBytes = try digest(future)
        let newer = try await runToCompletion(
            Self.costguard,
            ["reconcile", "--database", future, "--grace", "0s", "--redrive-grace", "0s"],
            environment: world.environment
        )
        #expect(newer.status == ExitStatus.ledgerUnavailable.rawValue, "\(newer.stderr)")
        #expect(newer.stderr.contains("newer"), "\(newer.stderr)")
        #expect(try digest(future) == futureBytes)

        // None of these touched a cluster.
        for scenario in world.scenarios.values {
            for id in scenario.clusterIds { #expect(try await world.state(id) == "WAITING") }
        }
    }
}
