import CostGuardCore
import CostGuardLedger
import CostGuardService
import CostGuardTestKit
import Foundation
import Testing

/// `costguard report` and `journal`, the real binary, on a ledger filled by real reconcile passes on the emulator.
@Suite("Report and journal", .serialized)
struct ReportTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden"
    ).path

    /// Replaces what differs between runs (cluster ids, times, request ids) with stable placeholders.
    static func normalize(_ text: String, names: [String: String]) -> String {
        var out = text
        for (id, name) in names.sorted(by: { $0.key < $1.key }) {
            out = out.replacingOccurrences(of: id, with: "j-<\(name)>")
        }
        out = out.replacingOccurrences(
            of: #"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{3})?Z?)?"#,
            with: "<time>",
            options: .regularExpression
        )
        out = out.replacingOccurrences(of: #"idle [0-9dhms]+"#, with: "idle <duration>", options: .regularExpression)
        return out
    }

    func compareGolden(_ name: String, _ actual: String) throws {
        let path = Self.goldenDirectory + "/" + name
        if ProcessInfo.processInfo.environment["COSTGUARD_UPDATE_GOLDEN"] == "1" {
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        if actual != expected {
            try? actual.write(
                toFile: NSTemporaryDirectory() + "costguard-golden-actual-" + name,
                atomically: true,
                encoding: .utf8
            )
        }
        #expect(
            actual == expected,
            "\(name) differs from its golden file; run with COSTGUARD_UPDATE_GOLDEN=1 to update after review"
        )
    }

    @Test("golden table, JSON (validated against its schema) and CSV (round-tripped through Python's csv)")
    func goldenReports() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: [
            "stopped-while-waiting", "failed", "succeeded-left-running", "protected", "still-running", "exempt",
            "succeeded-terminated-itself",
        ])
        defer { world.emulator.stop() }
        _ = try await world.reconcile(["--grace", "0s", "--redrive-grace", "0s"])
        // Cluster names are the scenarios' (one cluster each): they make the placeholders stable.
        var names: [String: String] = [:]
        for (scenario, value) in world.scenarios { for id in value.clusterIds { names[id] = scenario } }
        var environment = world.environment
        environment["NO_COLOR"] = "1"
        let costguard = TestPaths.productsDirectory + "/costguard"
        // A price small enough that the seconds between the scenarios and the report never show as cents, so the
        // golden files hold; the cost arithmetic itself is checked by CostTests with hand-computed figures.
        let config = (world.environment["HOME"] ?? "/tmp") + "/report.toml"
        try "[prices]\n\"m5.xlarge\" = \"0.01/0.01\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        var outputs: [String: String] = [:]
        for format in ["table", "json", "csv"] {
            let result = try await runToCompletion(
                costguard,
                [
                    "report", "--database", world.database, "--all", "--sort", "name", "--format", format, "--config",
                    config,
                ],
                environment: environment
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains("\u{1B}["), "no colour when NO_COLOR is set or stdout is not a terminal")
            outputs[format] = result.stdout
            try compareGolden("report.\(format)", Self.normalize(result.stdout, names: names))
        }
        // The table fits 80 columns.
        #expect(outputs["table"]!.split(separator: "\n").allSatisfy { $0.count <= 80 })

        let directory = try TestPaths.temporaryDirectory()
        try outputs["json"]!.write(toFile: directory + "/report.json", atomically: true, encoding: .utf8)
        try outputs["csv"]!.write(toFile: directory + "/report.csv", atomically: true, encoding: .utf8)
        let check = """
            import csv, json, jsonschema, sys
            schema = json.load(open(sys.argv[1]))
            report = json.load(open(sys.argv[2]))
            jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
            with open(sys.argv[3], newline="") as handle:
                rows = list(csv.DictReader(handle))
            assert len(rows) == len(report["clusters"]), (len(rows), len(report["clusters"]))
            for row, item in zip(rows, report["clusters"]):
                for key in ("clusterId", "disposition", "executionArn", "reason"):
                    assert row[key] == (item.get(key) or ""), (key, row[key], item.get(key))
                assert (row["costPerHourUSD"] or None) == (None if item["costPerHourUSD"] is None else "%.2f" % item["costPerHourUSD"])
            print("ok", len(rows))
            """
        let validated = try await runToCompletion(
            TestPaths.python,
            [
                "-c", check, TestPaths.repositoryRoot + "/Deploy/schemas/report-v1.schema.json",
                directory + "/report.json", directory + "/report.csv",
            ],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(validated.status == 0, "\(validated.stderr.suffix(1500))")
        #expect(validated.stdout.hasPrefix("ok 7"))

        // The journal in JSON parses, and lists the terminations with their request ids.
        let journal = try await runToCompletion(
            costguard,
            ["journal", "--database", world.database, "--format", "json"],
            environment: environment
        )
        let document = try JSONSerialization.jsonObject(with: Data(journal.stdout.utf8)) as? [String: Any]
        let entries = document?["entries"] as? [[String: Any]] ?? []
        #expect(entries.filter { $0["kind"] as? String == "outcome" && $0["requestId"] != nil }.count == 2)
        let filtered = try await runToCompletion(
            costguard,
            ["report", "--database", world.database, "--status", "protected", "--format", "csv"],
            environment: environment
        )
        #expect(filtered.stdout.split(separator: "\r\n").count == 2)
    }

    @Test(
        "the orphan cost (gauge and the report's 'Leaking now') counts orphans (self-terminating ones too): not live, shared, grace, exempt, unknown or resolved clusters"
    )
    func orphanCostGauge() throws {
        let now = Timestamp.systemNow()
        let ledger = try Ledger.open(path: try TestPaths.temporaryDirectory() + "/ledger.sqlite", now: now)
        // One cluster per disposition, each with 100 normalized instance hours over 10 hours: the same cost each.
        let dispositions = Disposition.allCases
        for number in dispositions.indices { try ledger.testing_writeBatch(number: number, now: now) }
        let created = now.adding(.seconds(-10 * 3600)).iso8601
        try ledger.testing_execute(
            dispositions.enumerated().map { number, disposition in
                "UPDATE clusters SET disposition = '\(disposition.rawValue)', state = 'WAITING', normalized_instance_hours = 100, "
                    + "cluster_created_at = '\(created)' WHERE id = 'j-BATCH\(number)'"
            }
        )
        let report = ReportBuilder.build(
            try ledger.clusters.reportRecords(),
            options: {
                var o = ReportOptions(now: now)
                o.all = true
                return o
            }()
        )
        let each = try #require(report.clusters.first?.costPerHourUSD)
        #expect(each > 0)
        #expect(Set(report.clusters.compactMap(\.costPerHourUSD)) == [each], "every cluster costs the same")
        let gauge = try ReportBuilder.orphanCostPerHour(ledger, now: now)
        let orphans = [Disposition.orphan, .wouldTerminate, .protected, .deferred, .reportOnly, .selfTerminating]
        #expect(abs(gauge - each * Double(orphans.count)) < 0.02, "\(gauge) for \(orphans.count) × \(each)")
        // The report's "Leaking now" is the same figure, whichever rows it shows.
        #expect(report.totals.costPerHourUSD == gauge)
        let unresolved = ReportBuilder.build(try ledger.clusters.reportRecords(), options: ReportOptions(now: now))
        #expect(unresolved.clusters.count == dispositions.count - 2)
        #expect(unresolved.totals.costPerHourUSD == gauge)
        // Live clusters alone cost nothing in the gauge.
        try ledger.testing_execute(["UPDATE clusters SET disposition = 'live'"])
        #expect(try ReportBuilder.orphanCostPerHour(ledger, now: now) == 0)
    }
}
