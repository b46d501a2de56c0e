import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Synchronization
import Testing

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [(ContinuousClock.Instant, String)] = []
    private var reader: Thread?

    init() throws {
        path = try TestPaths.temporaryDirectory() + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in for (i, b) in bytes.enumerated() { buffer[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw TestKitError("bind \(path) failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while let self, !Thread.current.isCancelled {
                let count = recv(self.fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    self.lock.withLock { self.received.append((.now, message)) }
                }
            }
        }
        reader = thread
        thread.start()
    }

    var messages: [String] { lock.withLock { received.map(\.1) } }
    func times(of text: String) -> [ContinuousClock.Instant] {
        lock.withLock { received.filter { $0.1.contains(text) }.map(\.0) }
    }

    /// Waits until a message containing `text` has arrived `count` times.
    func wait(for text: String, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if messages.filter({ $0.contains(text) }).count >= count { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    deinit {
        reader?.cancel()
        close(fd)
    }
}

/// `costguard serve`, the real binary, with a test-owned NOTIFY_SOCKET, against the emulator.
@Suite("costguard serve", .serialized)
struct ServeTests {
    @Test(
        "READY, STATUS, watchdog pings, the instance lock, SIGHUP reloads (and rejects a broken config), SIGTERM exits 0"
    )
    func daemon() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting", "failed"])
        defer { world.emulator.stop() }
        let notify = try NotifySocket()
        let config = (world.environment["HOME"] ?? "/tmp") + "/serve.toml"
        try "dry_run = true\n[policy]\ngrace = \"0s\"\nredrive_grace = \"0s\"\n".write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        var environment = world.environment
        environment["NOTIFY_SOCKET"] = notify.path
        // 2 s: a ping is sent only while AWS calls complete within the period, and on a loaded CI machine one
        // emulator answer has taken over 1 s (a gap of 1.5 s with 1 s here).
        environment["WATCHDOG_USEC"] = "2000000"
        let metricsPort = freeLoopbackPort()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        serve.arguments = [
            "--default-signal=INT,TERM,HUP", TestPaths.productsDirectory + "/costguard", "serve",
            "--database", world.database, "--config", config, "--interval", "2s",
            "--metrics-address", "127.0.0.1:\(metricsPort)",
        ]
        serve.environment = environment
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }

        #expect(await notify.wait(for: "READY=1"), "\(notify.messages)")
        #expect(await notify.wait(for: "STATUS=pass 1:"), "\(notify.messages)")
        #if os(Linux)
        // Only FoundationEssentials is loaded: Foundation, FoundationInternationalization and ICU would add ~6 MB
        // of resident memory to a daemon budgeted at 40 MB (Benchmarks/README.md).
        // Read to the end: /proc files report size 0, and a single sized read can stop at the first page.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/\(serve.processIdentifier)/maps"))
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try handle.close()
        #expect(maps.contains("libFoundationEssentials"))
        for library in ["libFoundation.so", "libFoundationInternationalization", "lib_FoundationICU"] {
            #expect(!maps.contains(library), "serve loaded \(library)")
        }
        #endif
        #expect(notify.messages.contains { $0.contains("STATUS=pass 1: attention") })
        // Watchdog pings every WATCHDOG_USEC/2 = 1 s while healthy.
        #expect(await notify.wait(for: "WATCHDOG=1", count: 4, timeout: .seconds(10)))
        let pings = notify.times(of: "WATCHDOG=1")
        if pings.count >= 2 {
            let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
            // Under WATCHDOG_USEC = 2 s, the bound that matters: systemd restarts a service silent for longer.
            #expect(gaps.allSatisfy { $0 < .seconds(2) }, "\(gaps)")
        }

        // /metrics, parsed by the Prometheus client library's own text parser: the pass counter moves.
        func scrape() async throws -> [String: Double] {
            let result = try await runToCompletion(
                TestPaths.python,
                [
                    "-c",
                    """
                    import sys, urllib.request
                    from prometheus_client.parser import text_string_to_metric_families
                    text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=5).read().decode()
                    for family in text_string_to_metric_families(text):
                        for sample in family.samples:
                            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                            print(f"{sample.name}{{{labels}}} {sample.value}")
                    health = urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=5)
                    print(f"healthz{{}} {health.status}")
                    """, "http://127.0.0.1:\(metricsPort)",
                ],
                environment: ["PATH": "/usr/bin:/bin"]
            )
            guard result.status == 0 else { throw TestKitError("scrape failed: \(result.stderr)") }
            var samples: [String: Double] = [:]
            for line in result.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let value = Double(parts[1]) { samples[String(parts[0])] = value }
            }
            return samples
        }
        let first = try await scrape()
        #expect(first["healthz{}"] == 200)
        #expect((first["costguard_passes_total{outcome=attention}"] ?? 0) >= 1, "\(first.keys.sorted())")
        #expect((first["costguard_aws_calls_total{operation=ListStateMachines,outcome=ok,service=states}"] ?? 0) >= 1)
        #expect(first["costguard_clusters{disposition=would-terminate}"] == 2)
        #expect(first.keys.contains { $0.hasPrefix("costguard_pass_duration_seconds") })
        #expect(first.keys.contains { $0.hasPrefix("costguard_orphan_cost_per_hour_usd") })
        // The first scrape may already have seen pass 2 (passes are 2 s apart): wait for the pass after what it saw.
        let seen = Int(first["costguard_passes_total{outcome=attention}"] ?? 0)
        #expect(await notify.wait(for: "STATUS=pass \(seen + 1):"), "\(notify.messages)")
        let later = try await scrape()
        #expect(
            (later["costguard_passes_total{outcome=attention}"] ?? 0)
                > (first["costguard_passes_total{outcome=attention}"] ?? 0)
        )

        // A reconcile on the same ledger while serve runs: exit 75, naming the holder, refused before it opens the
        // ledger (with a whole-file check due at every open, it would otherwise check the file and record it).
        let checkedBefore = try #require(try Ledger.openReadOnly(path: world.database).maintenance.lastQuickCheck())
        let everyOpen = try TestPaths.temporaryDirectory() + "/every-open.toml"
        try "quick_check_every = \"0s\"\n".write(toFile: everyOpen, atomically: true, encoding: .utf8)
        let second = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database, "--grace", "0s", "--config", everyOpen],
            environment: world.environment
        )
        #expect(second.status == ExitStatus.locked.rawValue, "\(second.stderr)")
        #expect(second.stderr.contains("pid \(serve.processIdentifier) costguard serve"), "\(second.stderr)")
        #expect(
            try Ledger.openReadOnly(path: world.database).maintenance.lastQuickCheck()?.checkedAt
                == checkedBefore.checkedAt
        )

        // Dry run so far: nothing terminated.
        let orphans = world.scenarios.values.flatMap(\.clusterIds)
        for id in orphans { #expect(try await world.state(id) == "WAITING") }

        // A broken config on SIGHUP is rejected, the old one kept.
        try "[policy]\ngrace = \"later\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(serve.processIdentifier, SIGHUP)
        #expect(await notify.wait(for: "reload rejected"), "\(notify.messages)")
        #expect(notify.messages.contains { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") })
        #expect(serve.isRunning)
        // A valid one changes behaviour: dry run off, the next pass terminates the orphans.
        try "dry_run = false\n[policy]\ngrace = \"0s\"\nredrive_grace = \"0s\"\n".write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        kill(serve.processIdentifier, SIGHUP)
        #expect(await notify.wait(for: "configuration reloaded"), "\(notify.messages)")
        #expect(await notify.wait(for: "terminated 2;", timeout: .seconds(20)), "\(notify.messages)")
        let third = try await scrape()
        #expect(third["costguard_terminations_total{}"] == 2, "\(third.filter { $0.key.contains("termination") })")
        for id in orphans { #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id))) }

        // SIGTERM: STOPPING=1, exit 0, journal complete.
        kill(serve.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        while serve.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!serve.isRunning)
        #expect(serve.terminationStatus == 0)
        #expect(await notify.wait(for: "STOPPING=1", timeout: .seconds(2)))
        #expect(try Ledger.openReadOnly(path: world.database).journal.openIntents().isEmpty)
    }
}

@Suite("costguard serve with hanging AWS calls", .serialized)
struct ServeWatchdogTests {
    @Test("a pass whose AWS calls hang stops the watchdog pings (systemd then restarts the service)")
    func hungPassStopsPings() async throws {
        // Every AWS answer takes 20 s: the first pass hangs in ListStateMachines.
        let server = try await ScriptedServer.start(rules: [
            ["delay": 20, "body": ["json": ["stateMachines": [] as [String]]]]
        ])
        defer { server.stop() }
        let notify = try NotifySocket()
        let home = try TestPaths.temporaryDirectory()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        serve.arguments = [
            "--default-signal=INT,TERM,HUP", TestPaths.productsDirectory + "/costguard", "serve",
            "--database", home + "/ledger.sqlite", "--interval", "1s", "--metrics-address", "off",
        ]
        serve.environment = [
            "HOME": home, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
        ]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            if serve.isRunning {
                kill(serve.processIdentifier, SIGKILL)
                serve.waitUntilExit()
            }
        }
        #expect(await notify.wait(for: "READY=1"))
        // Allow the pings sent before the pass started; after that, none for the watchdog period and well beyond.
        try await Task.sleep(for: .milliseconds(1500))
        let before = notify.times(of: "WATCHDOG=1").count
        try await Task.sleep(for: .seconds(3))
        let after = notify.times(of: "WATCHDOG=1").count
        #expect(after == before, "pings continued while the pass hung: \(before) → \(after)")
        #expect(serve.isRunning)
        #expect(try server.requests().count >= 1)
    }
}

@Suite("costguard serve: stopping and crashing mid-pass", .serialized)
struct ServeStopTests {
    func startServe(
        _ world: ReconcileScenarioTests.World,
        notify: NotifySocket?,
        extra: [String] = []
    ) throws -> Process {
        var environment = world.environment
        if let notify { environment["NOTIFY_SOCKET"] = notify.path }
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        serve.arguments =
            [
                "--default-signal=INT,TERM,HUP", TestPaths.productsDirectory + "/costguard", "serve",
                "--database", world.database, "--interval", "1s", "--grace", "0s", "--redrive-grace", "0s",
                "--metrics-address", "off",
            ] + extra
        serve.environment = environment
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        return serve
    }

    @Test("SIGTERM during a pass lets it finish, then exits 0 with the pass recorded and the journal complete")
    func sigtermMidPass() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting", "failed", "protected"])
        defer { world.emulator.stop() }
        let notify = try NotifySocket()
        let serve = try startServe(world, notify: notify)
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        #expect(await notify.wait(for: "READY=1"))
        kill(serve.processIdentifier, SIGTERM)  // the first pass starts right after READY
        let deadline = ContinuousClock.now + .seconds(30)
        while serve.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!serve.isRunning)
        #expect(serve.terminationStatus == 0)
        #expect(await notify.wait(for: "STOPPING=1", timeout: .seconds(2)))
        let ledger = try Ledger.openReadOnly(path: world.database)
        #expect(try ledger.testing_count("SELECT count(*) FROM passes WHERE outcome = 'running'") == 0)
        #expect(try ledger.testing_count("SELECT count(*) FROM passes") >= 1)
        #expect(try ledger.journal.openIntents().isEmpty)
    }

    @Test(
        "SIGKILL 50 times at random points of passes (some between a journal intent and its call), then a restart: the ledger checks out and every orphan is handled once"
    )
    func sigkillAndRestart() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(
            only: [
                "stopped-while-waiting", "failed", "timed-out", "parallel-branch", "map-iteration",
                "stopped-while-starting",
            ])
        defer { world.emulator.stop() }
        // TerminateJobFlows is held 1.5 s by a proxy: a kill can land after the intent is journaled and before the
        // call reaches the emulator. One termination per pass spreads the orphans over many rounds.
        let port = freeLoopbackPort()
        let proxy = try await BackgroundProcess.start(
            TestPaths.python,
            [
                TestPaths.emulatorScript("fault_proxy.py"), "--port", "\(port)", "--upstream", world.emulator.endpoint,
                "--rate", "0", "--delay", "TerminateJobFlows=1.5",
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            readyPrefix: "ready"
        )
        defer { proxy.stop() }
        var proxied = world
        proxied.environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(port)"
        var generator = SystemRandomNumberGenerator()
        var killedWithOpenIntent = 0
        let rounds = Int(ProcessInfo.processInfo.environment["COSTGUARD_SIGKILL_ROUNDS"] ?? "") ?? 50
        func ledgerCheck() async throws -> (status: Int32, stdout: String, stderr: String) {
            try await runToCompletion(
                TestPaths.productsDirectory + "/costguard",
                ["ledger", "check", "--database", world.database],
                environment: world.environment
            )
        }
        // Where a pass reaches its termination depends on how fast the machine is (CI once drew 50 random waits and
        // none fell in the 1.5 s window), so every fifth round, the first among them, waits for the intent itself:
        // it watches the ledger (WAL: a reader never blocks the pass) and kills as soon as an intent has no outcome.
        func openIntentAppears(within limit: Duration) async -> Bool {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                if let ledger = try? Ledger.openReadOnly(path: world.database),
                    let open = try? ledger.journal.openIntents(), !open.isEmpty
                {
                    return true
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        var waitingForIntents = true
        var killsOnIntent = 0
        for round in 0..<rounds {
            let serve = try startServe(proxied, notify: nil, extra: ["--max-terminations", "1"])
            if round % 5 == 0 && waitingForIntents {
                // Once the earlier rounds handled every orphan the wait ends unanswered, and the rounds after draw.
                waitingForIntents = await openIntentAppears(within: .seconds(8))
                if waitingForIntents { killsOnIntent += 1 }
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...1500, using: &generator)))
            }
            kill(serve.processIdentifier, SIGKILL)
            serve.waitUntilExit()
            guard FileManager.default.fileExists(atPath: world.database) else {
                // Killed before it created the ledger at all (on a loaded machine starting the process can take
                // longer than the shortest wait): nothing recorded, and the check says how to create it.
                let check = try await ledgerCheck()
                #expect(
                    check.status == 74 && check.stderr.contains("there is no ledger file here"),
                    "round \(round): \(check.stderr)"
                )
                continue
            }
            let killed = try Ledger.openReadOnly(path: world.database)
            if try !killed.journal.openIntents().isEmpty { killedWithOpenIntent += 1 }
            // The ledger is created whole (built beside the path, then linked into place): a kill never leaves one
            // that is empty or half-migrated.
            #expect(
                killed.schemaVersion == Migration.latestVersion,
                "round \(round): a kill left a ledger not fully created"
            )
            let check = try await ledgerCheck()
            #expect(check.status == 0, "round \(round): \(check.stdout)")
        }
        safetyFigure(
            "sigkill",
            "\(rounds) kills, \(killedWithOpenIntent) with a journal intent open (between intent and outcome), \(killsOnIntent) of them made on seeing the intent"
        )
        #expect(killedWithOpenIntent >= 1, "no kill landed between an intent and its outcome")
        // A final, uninterrupted pass completes every interrupted record and handles the orphans.
        let final = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        #expect(final.status == 0, "\(final.stderr)")
        let ledger = try Ledger.openReadOnly(path: world.database)
        #expect(try ledger.journal.openIntents().isEmpty)
        // What a kill during creation left beside the ledger, the next start removed.
        let directory = (world.database as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasSuffix(".creating")
        }
        #expect(leftovers == [], "temporary files of killed creations were left: \(leftovers)")
        let journal = try ledger.journal.rows()
        for intent in journal.filter({ $0.kind == .intent }) {
            #expect(
                journal.filter { $0.intentSeq == intent.seq }.count == 1,
                "intent \(intent.seq) has no single outcome"
            )
        }
        // Each orphan terminated, and at most one successful terminate outcome per cluster.
        let orphans = world.scenarios.values.flatMap(\.clusterIds)
        for id in orphans {
            #expect(["TERMINATED", "TERMINATING"].contains(try await world.state(id)), "\(id)")
            #expect(
                journal.filter { $0.kind == .outcome && $0.record.clusterID == id && $0.result == .succeeded }.count
                    <= 1
            )
        }
        #expect(try ledger.testing_count("SELECT count(*) FROM passes WHERE outcome = 'running'") == 0)
    }
}
