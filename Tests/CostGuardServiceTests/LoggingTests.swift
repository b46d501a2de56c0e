import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// Logs for journald: key=value fields, priority prefixes when stderr is the journal, JSON as an option.
@Suite("Logs", .serialized)
struct LoggingTests {
    @Test("journal priority prefixes and stable key=value fields; JSON lines that parse")
    func logs() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["failed", "protected"])
        defer { world.emulator.stop() }
        var environment = world.environment
        environment["JOURNAL_STREAM"] = "8:12345"
        let text = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database, "--grace", "0s", "--redrive-grace", "0s", "--verbose"],
            environment: environment
        )
        let lines = text.stderr.split(separator: "\n").filter { !$0.hasPrefix("costguard: ") }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.range(of: #"^<[2-7]>"#, options: .regularExpression) != nil }, "\(lines)")
        let terminated = try #require(lines.first { $0.contains("terminated cluster") })
        #expect(terminated.hasPrefix("<5>"))
        for key in ["action=terminate", "cluster=j-", "request_id="] {
            #expect(terminated.contains(key), "\(terminated)")
        }

        let json = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["reconcile", "--database", world.database, "--grace", "0s", "--verbose", "--log-format", "json"],
            environment: world.environment
        )
        let objects = json.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!objects.isEmpty)
        for line in objects {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "\(line)")
        }
    }
}
