import CostGuardTestKit
import Foundation
import Testing

/// The units in Deploy/ pass `systemd-analyze verify` with no output and are rated OK by `systemd-analyze security`.
@Suite("systemd units")
struct SystemdUnitTests {
    /// A copy of the Deploy/ units with ExecStart pointing at the built binary (verify needs it to exist).
    func unitDirectory() throws -> String {
        let directory = try TestPaths.temporaryDirectory()
        for unit in ["costguard.service", "costguard-reconcile.service", "costguard-reconcile.timer"] {
            let text = try String(contentsOfFile: TestPaths.repositoryRoot + "/Deploy/" + unit, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/costguard", with: TestPaths.productsDirectory + "/costguard")
            try text.write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test("systemd-analyze verify is clean (no warnings at all: unknown keys only warn)")
    func verify() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is missing")
        let directory = try unitDirectory()
        let result = try await runToCompletion(
            "/usr/bin/systemd-analyze",
            ["verify", "--man=no", directory + "/costguard.service", directory + "/costguard-reconcile.service",
             directory + "/costguard-reconcile.timer"],
            environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty && result.stdout.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    @Test("systemd-analyze security rates both services 2.0 or better", arguments: ["costguard.service", "costguard-reconcile.service"])
    func security(unit: String) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is missing")
        let directory = try unitDirectory()
        let result = try await runToCompletion(
            "/usr/bin/systemd-analyze",
            ["security", "--offline=yes", "--threshold=20", directory + "/" + unit],
            environment: ["PATH": "/usr/bin:/bin"])
        let summary = result.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") } ?? ""
        #expect(result.status == 0, "\(summary)")
        // "→ Overall exposure level for costguard-reconcile.service: 1.2 OK :-)" (the smiley depends on the locale).
        let figure = summary.range(of: ".service: ").flatMap { range in
            summary[range.upperBound...].split(separator: " ").first.flatMap { Double($0) }
        }
        #expect((figure ?? 10) <= 2.0, "\(summary) [\(result.stdout.suffix(300))] [\(result.stderr.suffix(300))]")
    }
}
