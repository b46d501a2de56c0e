public import CostGuardCore

extension HistoryStore {
    /// Marks the histories of these executions (redriven since they were read to the end) as not read to the end, so
    /// that the next read resumes after the last event read and finds what the redrive did.
    public func reopen(_ arns: [String]) throws(LedgerError) {
        guard !arns.isEmpty else { return }
        try write("reopening redriven histories") { db in
            _ = try db.run(
                "UPDATE executions SET history_status = 'partial' WHERE history_status = 'complete' AND arn IN (\(Ledger.listSQL))",
                [Ledger.listValue(arns)]
            )
        }
    }

    /// Per state machine, one of its RUNNING executions whose history could not be read in full or understood,
    /// and why (`execution ARN: problem`), for the reason of what it holds. Read only when
    /// `stateMachinesWithIncompleteRunningHistories` (kept in memory) is not empty.
    public func incompleteRunning() throws(LedgerError) -> [String: String] {
        guard !(try stateMachinesWithIncompleteRunning()).isEmpty else { return [:] }
        return try read("reading incomplete histories") { db in
            var result: [String: String] = [:]
            try db.forEachRow(
                """
                SELECT state_machine_arn, arn, history_problem FROM executions
                WHERE status = 'RUNNING' AND history_status = 'incomplete' ORDER BY arn
                """
            ) { row in
                guard let machine = row[0].text, let arn = row[1].text, result[machine] == nil else { return }
                result[machine] = "execution \(arn): \(row[2].text ?? "its history is incomplete")"
            }
            return result
        }
    }

    /// The state machines that have a RUNNING execution whose history could not be read in full.
    /// (Every pass asks it, and it visits every RUNNING execution: the answer is kept while the ledger is unchanged.)
    public func stateMachinesWithIncompleteRunning() throws(LedgerError) -> Set<String> {
        try ledger.executions.runningStateMachines(where: "history_status = 'incomplete'")
    }

    /// The executions of a state machine whose history must be read: never read, ended and not read to the end, or
    /// whose last read failed (RUNNING ones too: retried every pass from the cursor). An execution whose events
    /// were all read and one of them was not understood is not read again (nothing new would clear it).
    public func needingRead(stateMachine: String) throws(LedgerError) -> [String: ExecutionRow] {
        try read("reading executions") { db in
            var result: [String: ExecutionRow] = [:]
            try db.forEachRow(
                """
                SELECT * FROM executions WHERE history_status <> 'complete' AND state_machine_arn = ?
                  AND ((history_status <> 'incomplete' AND (history_status = 'unread' OR status <> 'RUNNING'))
                       OR (history_status = 'incomplete' AND substr(history_problem, 1, ?) = ?))
                """,
                [.text(stateMachine), .integer(Int64(Ledger.readFailurePrefix.count)), .text(Ledger.readFailurePrefix)]
            ) { row in
                let execution = Ledger.executionRow(row)
                result[execution.record.arn] = execution
            }
            return result
        }
    }

    /// Records what a history read found, in one transaction: created clusters (with their provenance), references,
    /// and the execution's history cursor and status.
    public func record(
        executionARN: String,
        findings: HistoryFindings,
        nextToken: String?,
        executionEnded: Bool,
        region: String,
        account: String,
        at now: Timestamp
    ) throws(LedgerError) {
        try recordAll(
            [
                HistoryRead(
                    executionARN: executionARN,
                    findings: findings,
                    nextToken: nextToken,
                    executionEnded: executionEnded,
                    region: region,
                    account: account
                )
            ],
            at: now
        )
    }

    /// Records what several history reads proved, in one transaction.
    public func recordAll(_ reads: [HistoryRead], at now: Timestamp) throws(LedgerError) {
        guard !reads.isEmpty else { return }
        try write("recording \(reads.count) execution histories") { db in
            for read in reads {
                let (executionARN, findings, nextToken, executionEnded, region, account) =
                    (read.executionARN, read.findings, read.nextToken, read.executionEnded, read.region, read.account)
                for creation in findings.creations {
                    try db.run(
                        """
                        INSERT INTO clusters (id, region, account, created_by_execution_arn, created_by_event_id,
                            created_by_event_type, created_by_resource, first_seen_at, last_seen_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                        """,
                        [
                            .text(creation.clusterID),
                            .text(creation.region.flatMap { $0.isEmpty ? nil : $0 } ?? region),
                            .text(creation.account ?? account), .text(executionARN),
                            .integer(Int64(creation.eventID)), .text(creation.eventType), .text(creation.resource),
                            .text(now.iso8601), .text(now.iso8601),
                        ]
                    )
                }
                for reference in findings.references {
                    try db.run(
                        """
                        INSERT INTO cluster_references (cluster_id, execution_arn, kind, resource, event_id, observed_at)
                        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                        """,
                        [
                            .text(reference.clusterID), .text(executionARN), .text(reference.kind),
                            .text(reference.resource),
                            .integer(Int64(reference.eventID)), .text(now.iso8601),
                        ]
                    )
                }
                for unit in findings.unitReferences {
                    try db.run(
                        """
                        INSERT INTO instance_group_references (execution_arn, unit_id, resource, event_id, observed_at)
                        VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                        """,
                        [
                            .text(executionARN), .text(unit.unitID), .text(unit.resource),
                            .integer(Int64(unit.eventID)),
                            .text(now.iso8601),
                        ]
                    )
                }
                for step in findings.steps {
                    try db.run(
                        """
                        INSERT INTO cluster_steps (cluster_id, execution_arn, step_id, step_name, event_id, observed_at)
                        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                        """,
                        [
                            .text(step.clusterID), .text(executionARN), .text(step.stepID), .text(step.name),
                            .integer(Int64(step.eventID)), .text(now.iso8601),
                        ]
                    )
                }
                let status: HistoryStatus =
                    !findings.problems.isEmpty
                    ? .incomplete : (executionEnded && nextToken == nil ? .complete : .partial)
                // A read resumes after the events already read, so a problem found in them is not found again: it
                // stays (history_status 'incomplete') until the execution is read anew. Only a failed read (its
                // problem starts with `readFailurePrefix`) is cleared by a read that succeeds.
                try db.run(
                    """
                    UPDATE executions SET history_last_event_id = ?, history_next_token = ?,
                        history_status = CASE
                            WHEN history_status = 'incomplete' AND history_problem IS NOT NULL
                                AND substr(history_problem, 1, ?) <> ? THEN 'incomplete'
                            ELSE ? END,
                        history_problem = CASE
                            WHEN history_status = 'incomplete' AND history_problem IS NOT NULL
                                AND substr(history_problem, 1, ?) <> ?
                                THEN history_problem || coalesce('; ' || ?, '')
                            ELSE ? END,
                        history_read_at = ?,
                        stop_date = CASE WHEN status <> 'RUNNING' THEN coalesce(stop_date, ?) ELSE stop_date END
                    WHERE arn = ?
                    """,
                    [
                        .integer(Int64(findings.lastEventID)), .optional(nextToken),
                        .integer(Int64(Ledger.readFailurePrefix.count)), .text(Ledger.readFailurePrefix),
                        .text(status.rawValue),
                        .integer(Int64(Ledger.readFailurePrefix.count)), .text(Ledger.readFailurePrefix),
                        .optional(findings.problems.isEmpty ? nil : findings.problems.joined(separator: "; ")),
                        .optional(findings.problems.isEmpty ? nil : findings.problems.joined(separator: "; ")),
                        .text(now.iso8601), .optional(findings.endedAt?.iso8601), .text(executionARN),
                    ]
                )
            }
        }
    }

    /// Marks an execution's history as unreadable (an API error, a page that ended early), so that its clusters are
    /// `unknown` until a later pass reads it.
    ///
    /// A problem found earlier in the history that is already read stays: the failed read is only added to it.
    public func recordFailure(executionARN: String, problem: String, at now: Timestamp) throws(LedgerError) {
        let text = Ledger.readFailurePrefix + problem
        try write("recording a history failure") { db in
            _ = try db.run(
                """
                UPDATE executions SET history_status = 'incomplete',
                    history_problem = CASE
                        WHEN history_status = 'incomplete' AND history_problem IS NOT NULL
                            AND substr(history_problem, 1, ?) <> ? THEN history_problem
                        ELSE ? END,
                    history_read_at = ?
                WHERE arn = ?
                """,
                [
                    .integer(Int64(Ledger.readFailurePrefix.count)), .text(Ledger.readFailurePrefix), .text(text),
                    .text(now.iso8601), .text(executionARN),
                ]
            )
        }
    }
}

/// One finished read of an execution's history, to record.
public struct HistoryRead: Sendable {
    public var executionARN: String
    public var findings: HistoryFindings
    public var nextToken: String?
    public var executionEnded: Bool
    public var region: String
    public var account: String

    public init(
        executionARN: String,
        findings: HistoryFindings,
        nextToken: String?,
        executionEnded: Bool,
        region: String,
        account: String
    ) {
        self.executionARN = executionARN
        self.findings = findings
        self.nextToken = nextToken
        self.executionEnded = executionEnded
        self.region = region
        self.account = account
    }
}
