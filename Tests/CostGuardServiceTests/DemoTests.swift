import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// The README's first command, end to end, on the emulator.
@Suite("The demo", .serialized)
struct DemoTests {
    func demoEnvironment() -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1",
            "COSTGUARD_BIN": TestPaths.productsDirectory + "/costguard",
        ]
    }

    /// Processes whose command line mentions this demo's emulator script and `serve`.
    func emulators() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { pid in
            guard Int(pid) != nil, let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            let text = String(decoding: cmd, as: UTF8.self)
            // The demo starts its emulator without a control port; the other suites' emulators have one.
            return text.contains("costguard_emulator.py") && text.contains("serve") && !text.contains("--control-port")
        }.count
    }

    @Test("shows the leak, terminates exactly the three orphans, reports the money saved, and leaves nothing running")
    func demo() async throws {
        let before = emulators()
        let result = try await runToCompletion(
            "/usr/bin/env",
            ["--default-signal=INT,TERM", "/bin/bash", TestPaths.repositoryRoot + "/Deploy/demo.sh"],
            environment: demoEnvironment()
        )
        #expect(result.status == 0, "\(result.stdout.suffix(2000)) \(result.stderr.suffix(2000))")
        let out = result.stdout + result.stderr
        #expect(out.contains("would-terminate=3 live=1"))
        #expect(out.contains("terminated 3; terminated=3 live=1"))
        #expect(out.contains("ended 1, live 1, terminated 3"))
        #expect(out.contains("Saved by terminations $108.00"), "3 clusters × (m5.xlarge + 2 × r5.2xlarge) × 24 h")
        #expect(out.contains("Where to go next"))
        try await Task.sleep(for: .milliseconds(500))
        #expect(emulators() == before, "the demo left an emulator running")
    }

    @Test("Ctrl-C in the middle leaves nothing running")
    func interrupt() async throws {
        let before = emulators()
        let process = Process()
        // A shell cannot trap a signal that was ignored when it started, and the test runner may pass SIGINT on
        // ignored: start the demo with the default dispositions, as from a terminal.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=INT,TERM", "/bin/bash", TestPaths.repositoryRoot + "/Deploy/demo.sh"]
        process.environment = demoEnvironment()
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the pipelines run, then interrupt the whole process group as a terminal would.
        let watcher = OutputCollector(out)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline && !watcher.text.contains("started ml-training") {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(watcher.text.contains("started ml-training"))
        kill(process.processIdentifier, SIGINT)
        let stopDeadline = ContinuousClock.now + .seconds(15)
        while process.isRunning && ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 130)
        try await Task.sleep(for: .seconds(1))
        #expect(emulators() == before, "Ctrl-C left an emulator running")
    }
}

/// Collects a pipe's output in the background.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self?.lock.withLock { self?.buffer += String(decoding: data, as: UTF8.self) }
        }
    }

    var text: String { lock.withLock { buffer } }
}
