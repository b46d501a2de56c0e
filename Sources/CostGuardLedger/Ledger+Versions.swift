public import CostGuardCore

extension Ledger {
    /// The published versions of a state machine whose definitions were read, with what each can do to EMR.
    public func stateMachineVersions(of machine: String) throws(LedgerError) -> [String: DefinitionAnalysis?] {
        try read("reading state machine versions") { db in
            var result: [String: DefinitionAnalysis?] = [:]
            try db.forEachRow(
                """
                SELECT arn, definition_status, creates_clusters, references_clusters, follows_children
                FROM state_machine_versions WHERE state_machine_arn = ?
                """,
                [.text(machine)]
            ) { row in
                guard let arn = row[0].text else { return }
                guard row[1].text == DefinitionStatus.parsed.rawValue else {
                    result[arn] = .some(nil)
                    return
                }
                var analysis = DefinitionAnalysis()
                analysis.createsClusters = row[2].integer == 1
                analysis.referencesClusters = row[3].integer == 1
                analysis.startsExecutions = row[4].integer == 1
                result[arn] = analysis
            }
            return result
        }
    }

    /// Records what a version's definition (read once: versions never change) can do to EMR.
    public func recordVersion(
        arn: String,
        stateMachine: String,
        analysis: Result<DefinitionAnalysis, DefinitionAnalysis.Problem>,
        at now: Timestamp
    ) throws(LedgerError) {
        let parsed = try? analysis.get()
        let problem: String? = if case .failure(let failure) = analysis { failure.description } else { nil }
        try write("recording version \(arn)") { db in
            _ = try db.run(
                """
                INSERT INTO state_machine_versions (arn, state_machine_arn, definition_status, definition_problem,
                    creates_clusters, references_clusters, follows_children, read_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING
                """,
                [
                    .text(arn), .text(stateMachine),
                    .text((parsed == nil ? DefinitionStatus.unparsable : .parsed).rawValue), .optional(problem),
                    .bool(parsed?.createsClusters ?? false), .bool(parsed?.referencesClusters ?? false),
                    .bool((parsed?.startsExecutions ?? false) || (parsed?.hasDistributedMap ?? false)),
                    .text(now.iso8601),
                ]
            )
        }
    }
}
