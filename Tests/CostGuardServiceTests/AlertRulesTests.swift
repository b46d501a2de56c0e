import CostGuardTestKit
import Foundation
import Testing

/// `Deploy/prometheus/costguard-rules.yml`: valid for Prometheus (`promtool check rules`), firing when and only when
/// its unit tests say (`promtool test rules`), and querying only metrics CostGuard exports; the same for the Grafana
/// dashboard's queries (`Deploy/grafana/costguard.json`).
@Suite("Alerting rules and dashboard")
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

    /// What ServiceMetrics registers (its labels are the exported names); timers are histograms (`_bucket`, …).
    static func exported() throws -> Set<String> {
        let source = try String(
            contentsOfFile: TestPaths.repositoryRoot + "/Sources/CostGuardService/Daemon/ServiceMetrics.swift",
            encoding: .utf8
        )
        let names = Set(metricNames(in: source))
        return names.union(names.flatMap { name in ["_bucket", "_sum", "_count"].map { name + $0 } })
    }

    @Test("the dashboard: valid JSON, every panel with a title and a query, every query on an exported metric")
    func dashboard() throws {
        let data = try Data(
            contentsOf: URL(fileURLWithPath: TestPaths.repositoryRoot + "/Deploy/grafana/costguard.json")
        )
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(dashboard["uid"] as? String == "costguard")
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        var expressions: [String] = []
        for panel in panels {
            let title = panel["title"] as? String ?? ""
            #expect(!title.isEmpty)
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(title) has no query")
            expressions += targets.compactMap { $0["expr"] as? String }
        }
        let queried = Set(expressions.flatMap(Self.metricNames(in:)))
        let exported = try Self.exported()
        #expect(queried.isSubset(of: exported), "queried but not exported: \(queried.subtracting(exported))")
        // Every family CostGuard exports is on the dashboard, so a new metric cannot go unseen.
        let families = Set(
            try Self.metricNames(
                in: String(
                    contentsOfFile: TestPaths.repositoryRoot + "/Sources/CostGuardService/Daemon/ServiceMetrics.swift",
                    encoding: .utf8
                )
            )
        )
        let shown = Set(
            queried.map { name in
                ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
            }
        )
        #expect(families.isSubset(of: shown), "exported but not on the dashboard: \(families.subtracting(shown))")
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
