import CostGuardCore
import Foundation
import Testing

@testable import CostGuardLedger

/// Tests that use real child processes: the helper writer, and the `costguard` binary.
@Suite("Ledger across processes", .serialized)
struct ProcessTests {
    /// Starts `costguard-test-helper write-forever` on `path` and waits for its "ready" line.
    func startWriter(_ path: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: product("costguard-test-helper"))
        process.arguments = ["write-forever", path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line.hasPrefix("ready"), "helper said \(line)")
        return process
    }

    @Test(
        "SIGKILL in the middle of write transactions leaves a ledger that passes check, with no half batch",
        arguments: [30, 120, 400]
    )
    func crashMidWrite(delayMilliseconds: Int) async throws {
        try await withAsyncTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let writer = try startWriter(path)
            try await Task.sleep(for: .milliseconds(delayMilliseconds))
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            #expect(writer.terminationReason == .uncaughtSignal)

            let check = try runProcess(product("costguard"), ["ledger", "check", "--database", path])
            #expect(check.status == 0, "ledger check: \(check.stdout) \(check.stderr)")
            #expect(check.stdout.contains("integrity: ok"))
            #expect(check.stdout.contains("last quick_check before writing: 20"), "\(check.stdout)")
            #expect(
                check.stdout.contains("(no whole-file check is recorded)"),
                "the writer's open made the first: \(check.stdout)"
            )

            // Every batch is five rows in one transaction: all five tables must hold the same batch numbers.
            let ledger = try Ledger.openReadOnly(path: path)
            let counts = try ["passes", "state_machines", "executions", "clusters", "journal"].map {
                try ledger.testing_count("SELECT count(*) FROM \($0)")
            }
            #expect(Set(counts).count == 1, "rows per table differ after the crash: \(counts)")
            #expect(counts[0] > 0, "the writer wrote nothing before it was killed")
            let orphaned = try ledger.testing_count(
                "SELECT count(*) FROM clusters c LEFT JOIN journal j ON j.cluster_id = c.id WHERE j.seq IS NULL"
            )
            #expect(orphaned == 0)
            // And the ledger opens for writing again, carrying on where it stopped.
            let reopened = try Ledger.open(path: path, now: testNow)
            try reopened.testing_writeBatch(number: 1_000_000, now: testNow)
        }
    }

    @Test("ledger backup makes a consistent copy while another process writes")
    func backupWhileWriting() async throws {
        try await withAsyncTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let writer = try startWriter(path)
            defer {
                kill(writer.processIdentifier, SIGKILL)
                writer.waitUntilExit()
            }
            for round in 0..<5 {
                try await Task.sleep(for: .milliseconds(60))
                let copy = dir + "/backup-\(round).sqlite"
                let backup = try runProcess(product("costguard"), ["ledger", "backup", "--database", path, copy])
                #expect(backup.status == 0, "backup: \(backup.stderr)")
                let check = try runProcess(product("costguard"), ["ledger", "check", "--database", copy])
                #expect(check.status == 0, "check of the copy: \(check.stdout) \(check.stderr)")
                let ledger = try Ledger.openReadOnly(path: copy)
                let counts = try ["passes", "state_machines", "executions", "clusters", "journal"].map {
                    try ledger.testing_count("SELECT count(*) FROM \($0)")
                }
                #expect(Set(counts).count == 1, "the copy holds half a batch: \(counts)")
                let mode = try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600)
            }
            let writes = try Ledger.openReadOnly(path: path).testing_count("SELECT count(*) FROM passes")
            #expect(writes > 0)
            // An existing destination is refused without --force.
            let again = try runProcess(
                product("costguard"),
                ["ledger", "backup", "--database", path, dir + "/backup-0.sqlite"]
            )
            #expect(again.status == ExitStatus.ledgerUnavailable.rawValue)
            #expect(again.stderr.contains("--force"))
        }
    }

    @Test("a read-only directory gives a clear error naming the directory and the fix, and changes nothing")
    func readOnlyDirectory() throws {
        try withTemporaryDirectory { dir in
            let state = dir + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let path = state + "/ledger.sqlite"
            // An existing ledger, then the directory made read-only the way systemd's ProtectSystem= does it:
            // a read-only bind mount in a private mount namespace (as root), or mode 0555 (as anyone else).
            try Ledger.open(path: path, now: testNow).testing_writeBatch(number: 1, now: testNow)
            try checkpoint(path)
            let before = fileBytes(path)
            let helper = product("costguard-test-helper")
            let result: ProcessResult
            let fresh: ProcessResult
            if getuid() == 0 {
                let script =
                    "mount --bind \(state) \(state) && mount -o remount,bind,ro \(state) && "
                    + "\(helper) write-batches \(path) 5; echo \"rc=$?\"; \(helper) write-batches \(state)/new.sqlite 1"
                result = try runProcess("/usr/bin/unshare", ["-m", "sh", "-c", script])
                fresh = result
            } else {
                chmod(state, 0o555)
                defer { chmod(state, 0o755) }
                result = try runProcess(helper, ["write-batches", path, "5"])
                fresh = try runProcess(helper, ["write-batches", state + "/new.sqlite", "1"])
            }
            #expect(result.stderr.contains("ledger \(path): the directory \(state) is not writable"), "\(result)")
            #expect(result.stderr.contains("StateDirectory=costguard"))
            #expect(fresh.stderr.contains("ledger \(state)/new.sqlite: the directory \(state) is not writable"))
            #expect(fileBytes(path) == before)
            #expect(!FileManager.default.fileExists(atPath: state + "/new.sqlite"))
        }
    }

    @Test("costguard ledger check reports a damaged ledger with exit 74 and the fix")
    func checkCommandOnDamage() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            try Data("this is not a database, just some text that is long enough".utf8).write(
                to: URL(fileURLWithPath: path)
            )
            let result = try runProcess(product("costguard"), ["ledger", "check", "--database", path])
            #expect(result.status == ExitStatus.ledgerUnavailable.rawValue)
            #expect(result.stderr.contains("not an SQLite database"))
            #expect(result.stderr.contains(path))
        }
    }
}
