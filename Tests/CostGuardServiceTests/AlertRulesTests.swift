import CostGuardTestKit
import Foundation
import Testing

/// `Deploy/prometheus/costguard-rules.yml`: valid for Prometheus (`promtool check rules`), firing when and only when
/// its unit tests say (`promtool test rules`), and querying only metrics CostGuard exports.
@Suite("Alerting rules")
struct AlertRulesTests {
    static let directory = TestPaths.repositoryRoot + "/Deploy/prometheus"
    static let promtool = "/usr/bin/promtool"

    @Test("promtool checks the rules and passes their unit tests")
    func promtoolPasses() async throws {
        // Not skipped when missing: Deploy/dev-setup.sh installs it (Debian's prometheus package).
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.promtool),
            "promtool is missing: run Deploy/dev-setup.sh (it installs Debian's prometheus package)"
        )
        let check = try await runToCompletion(
            Self.promtool,
            ["check", "rules", Self.directory + "/costguard-rules.yml"],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 5 rules found"), "\(check.stdout)")
        let test = try await runToCompletion(
            "/bin/sh",
            ["-c", "cd \"$1\" && exec \(Self.promtool) test rules costguard-rules.test.yml", "sh", Self.directory],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(test.status == 0, "\(test.stdout) \(test.stderr)")
    }

    @Test("every metric the rules query is one CostGuard exports")
    func metricsExist() throws {
        let rules = try String(contentsOfFile: Self.directory + "/costguard-rules.yml", encoding: .utf8)
        let queried = Set(Self.metricNames(in: rules))
        #expect(queried.count >= 6, "\(queried)")
        // What ServiceMetrics registers (its labels are the exported names).
        let source = try String(
            contentsOfFile: TestPaths.repositoryRoot + "/Sources/CostGuardService/Daemon/ServiceMetrics.swift",
            encoding: .utf8
        )
        let exported = Set(Self.metricNames(in: source))
        #expect(queried.isSubset(of: exported), "queried but not exported: \(queried.subtracting(exported))")
    }

    /// The `costguard_…` names in `text`.
    static func metricNames(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "costguard_") {
            let tail = rest[start.lowerBound...]
            let name = tail.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            names.append(String(name))
            rest = tail.dropFirst(name.count)
        }
        return names
    }
}
