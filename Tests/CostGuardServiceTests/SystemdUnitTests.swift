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
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
            "systemd-analyze is missing"
        )
        let directory = try unitDirectory()
        let result = try await runToCompletion(
            "/usr/bin/systemd-analyze",
            [
                "verify", "--man=no", directory + "/costguard.service", directory + "/costguard-reconcile.service",
                directory + "/costguard-reconcile.timer",
            ],
            environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning"]
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty && result.stdout.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    @Test(
        "systemd-analyze security rates both services 2.0 or better",
        arguments: ["costguard.service", "costguard-reconcile.service"]
    )
    func security(unit: String) async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
            "systemd-analyze is missing"
        )
        let directory = try unitDirectory()
        let result = try await runToCompletion(
            "/usr/bin/systemd-analyze",
            ["security", "--offline=yes", "--threshold=20", directory + "/" + unit],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        let summary = result.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") } ?? ""
        #expect(result.status == 0, "\(summary)")
        // "→ Overall exposure level for costguard-reconcile.service: 1.2 OK :-)" (the smiley depends on the locale).
        let figure = summary.range(of: ".service: ").flatMap { range in
            summary[range.upperBound...].split(separator: " ").first.flatMap { Double($0) }
        }
        #expect((figure ?? 10) <= 2.0, "\(summary) [\(result.stdout.suffix(300))] [\(result.stderr.suffix(300))]")
    }
}

@Suite("Install script")
struct InstallTests {
    @Test("installs the binary, config, units, docs and completions into DESTDIR, keeping an existing config")
    func install() async throws {
        let root = try TestPaths.temporaryDirectory()
        // A stand-in page: generating the real one needs `swift package generate-manual`, which cannot run inside
        // `swift test` (it would wait for the build lock); install.sh runs it when it builds.
        let page = root + "-costguard.1"
        try ".TH COSTGUARD 1\n".write(toFile: page, atomically: true, encoding: .utf8)
        let environment = [
            "PATH": "/usr/bin:/bin", "DESTDIR": root, "COSTGUARD_BIN": TestPaths.productsDirectory + "/costguard",
            "COSTGUARD_MANPAGE": page,
        ]
        let first = try await runToCompletion(
            "/bin/bash",
            [TestPaths.repositoryRoot + "/Deploy/install.sh"],
            environment: environment
        )
        #expect(first.status == 0, "\(first.stderr)")
        let files = [
            "/usr/local/bin/costguard", "/etc/costguard/costguard.toml", "/etc/systemd/system/costguard.service",
            "/etc/systemd/system/costguard-reconcile.timer", "/usr/local/share/doc/costguard/iam-policy.json",
            "/usr/local/share/bash-completion/completions/costguard", "/usr/local/share/zsh/site-functions/_costguard",
            "/usr/local/share/fish/vendor_completions.d/costguard.fish", "/usr/local/share/man/man1/costguard.1",
        ]
        for file in files { #expect(FileManager.default.fileExists(atPath: root + file), "\(file)") }
        let binaryMode =
            (try FileManager.default.attributesOfItem(atPath: root + "/usr/local/bin/costguard")[.posixPermissions]
            as? NSNumber)?.intValue
        #expect(binaryMode == 0o755)
        let completion = try String(
            contentsOfFile: root + "/usr/local/share/bash-completion/completions/costguard",
            encoding: .utf8
        )
        #expect(completion.contains("reconcile") && completion.contains("--dry-run"))
        try "# edited by the admin\n".write(
            toFile: root + "/etc/costguard/costguard.toml",
            atomically: true,
            encoding: .utf8
        )
        let second = try await runToCompletion(
            "/bin/bash",
            [TestPaths.repositoryRoot + "/Deploy/install.sh"],
            environment: environment
        )
        #expect(second.status == 0)
        #expect(
            try String(contentsOfFile: root + "/etc/costguard/costguard.toml", encoding: .utf8)
                == "# edited by the admin\n"
        )
    }
}
