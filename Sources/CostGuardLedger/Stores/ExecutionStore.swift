public import CostGuardCore

extension ExecutionStore {
    /// Records that a RUNNING execution no longer exists because its state machine was deleted (DescribeExecution:
    /// ExecutionDoesNotExist, DescribeStateMachine: StateMachineDoesNotExist): it ended FAILED (AWS fails such
    /// executions at their next transition) at `now`, the time it was found gone; its history, which can no longer
    /// be read, stands as far as it was read (a problem found in it stays).
    public func recordGone(arn: String, at now: Timestamp) throws(LedgerError) {
        try write("recording that \(arn) is gone") { db in
            _ = try db.run(
                """
                UPDATE executions SET status = 'FAILED', stop_date = ?, status_source = ?, status_observed_at = ?,
                    history_status = CASE WHEN history_status = 'incomplete' THEN 'incomplete' ELSE 'complete' END,
                    history_next_token = NULL
                WHERE arn = ? AND status = 'RUNNING'
                """,
                [.text(now.iso8601), .text(Ledger.goneWithStateMachineSource), .text(now.iso8601), .text(arn)]
            )
        }
    }

    /// Executions by ARN: of one state machine, or the children of one execution, or (with neither) every one;
    /// with `running`, only the RUNNING ones (an indexed read: what a pass needs without loading what ended).
    public func rows(
        stateMachine: String? = nil,
        parent: String? = nil,
        running: Bool = false
    ) throws(LedgerError) -> [String: ExecutionRow] {
        var sql = "SELECT * FROM executions WHERE 1 = 1"
        var parameters: [SQLValue] = []
        if running { sql += " AND status = 'RUNNING'" }
        if let stateMachine {
            sql += " AND state_machine_arn = ?"
            parameters.append(.text(stateMachine))
        }
        if let parent {
            sql += " AND parent_execution_arn = ?"
            parameters.append(.text(parent))
        }
        return try executionRows(sql, parameters)
    }

    /// The ARNs of the executions of a state machine that the ledger has as RUNNING (answered from the
    /// `executions_running_by_state_machine` index alone: what every pass asks of every state machine it follows).
    public func runningARNs(stateMachine: String) throws(LedgerError) -> Set<String> {
        try read("reading running executions") { db in
            var result: Set<String> = []
            try db.forEachRow(Ledger.runningExecutionsQuery, [.text(stateMachine)]) { row in
                if let arn = row[0].text { result.insert(arn) }
            }
            return result
        }
    }

    /// The status the ledger has for each of these executions that it knows.
    ///
    /// An array, not `some Collection<String>`: a generic public function called from another module runs
    /// unspecialized, every dictionary lookup and insert going through witness tables (a steady pass asks this for
    /// every listed execution: 2.1 M instructions generic).
    public func statuses(arns: [String]) throws(LedgerError) -> [String: ExecutionStatus] {
        try read("reading execution statuses") { db in
            let unknown = arns
            var found: [String: ExecutionStatus] = [:]
            try db.forEachRow(
                "SELECT arn, status FROM executions WHERE arn IN (\(Ledger.listSQL))",
                [Ledger.listValue(unknown)]
            ) { row in
                if let arn = row[0].text, let status = row[1].text.flatMap(ExecutionStatus.init(rawValue:)) {
                    found[arn] = status
                }
            }
            return found
        }
    }

    /// How many executions of a state machine the ledger has that started at or after `start` (an indexed count).
    public func count(stateMachine: String, startedSince start: Timestamp) throws(LedgerError) -> Int {
        let since = start.iso8601
        return try read("counting executions") { db in
            Int(
                try db.query(
                    "SELECT count(*) FROM executions WHERE state_machine_arn = ? AND start_date >= ?",
                    [.text(stateMachine), .text(since)]
                ).first?[0].integer ?? 0
            )
        }
    }

    /// The RUNNING children of Distributed Map runs.
    public func runningMapRunChildren() throws(LedgerError) -> [String: ExecutionRow] {
        try executionRows("SELECT * FROM executions WHERE status = 'RUNNING' AND map_run_arn IS NOT NULL", [])
    }

    /// The state machines that have a RUNNING execution that is not a child (a Map Run's or a started one's):
    /// answered from the index, and kept in memory while the ledger is unchanged (every pass asks it).
    public func stateMachinesWithRunning() throws(LedgerError) -> Set<String> {
        try runningStateMachines(where: "parent_execution_arn IS NULL")
    }

    /// The state machines of the RUNNING executions that meet `condition` (SQL).
    func runningStateMachines(
        where condition: String
    ) throws(LedgerError) -> Set<String> {
        try read("reading state machines with running executions") { db in
            var result: Set<String> = []
            try db.forEachRow(
                "SELECT DISTINCT state_machine_arn FROM executions WHERE status = 'RUNNING' AND \(condition)"
            ) { row in
                if let arn = row[0].text { result.insert(arn) }
            }
            return result
        }
    }

    /// The executions with these ARNs that the ledger has.
    public func rows(arns: some Collection<String>) throws(LedgerError) -> [String: ExecutionRow] {
        var result: [String: ExecutionRow] = [:]
        try withList(of: arns, "reading executions") { db, list, values throws(SQLiteError) in
            try db.forEachRow("SELECT * FROM executions WHERE arn IN (\(list))", values) { row in
                let execution = Ledger.executionRow(row)
                result[execution.record.arn] = execution
            }
        }
        return result
    }

    func executionRows(_ sql: String, _ parameters: [SQLValue]) throws(LedgerError) -> [String: ExecutionRow] {
        try read("reading executions") { db in
            var result: [String: ExecutionRow] = [:]
            try db.forEachRow(sql, parameters) { row in
                let execution = Ledger.executionRow(row)
                result[execution.record.arn] = execution
            }
            return result
        }
    }

    /// Upserts executions; redrive fields are kept when the record does not carry them. Advances the state
    /// machines' newest-execution cursors.
    public func record(_ records: [ExecutionRecord], at now: Timestamp) throws(LedgerError) {
        guard !records.isEmpty else { return }
        try write("recording executions") { db in
            for r in records {
                // A RUNNING execution has no stop date (a redrive clears it).
                let stop = r.status.hasEnded ? r.stopDate : nil
                try db.run(
                    """
                    INSERT INTO executions (arn, state_machine_arn, name, parent_execution_arn, map_run_arn, status,
                        start_date, stop_date, redrive_count, redrive_status, redrive_date, status_source,
                        status_observed_at, first_seen_at, last_seen_at, state_machine_version_arn,
                        state_machine_alias_arn)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (arn) DO UPDATE SET status = excluded.status,
                        state_machine_version_arn = coalesce(excluded.state_machine_version_arn, state_machine_version_arn),
                        state_machine_alias_arn = coalesce(excluded.state_machine_alias_arn, state_machine_alias_arn),
                        stop_date = CASE WHEN excluded.status = 'RUNNING' THEN NULL
                                         ELSE coalesce(excluded.stop_date, stop_date) END,
                        redrive_count = CASE WHEN ? IS NULL THEN redrive_count ELSE excluded.redrive_count END,
                        redrive_status = CASE WHEN ? IS NULL THEN redrive_status ELSE excluded.redrive_status END,
                        redrive_date = coalesce(excluded.redrive_date, redrive_date),
                        parent_execution_arn = coalesce(parent_execution_arn, excluded.parent_execution_arn),
                        status_source = excluded.status_source, status_observed_at = excluded.status_observed_at,
                        last_seen_at = excluded.last_seen_at
                    """,
                    [
                        .text(r.arn), .text(r.stateMachineARN), .optional(r.name), .optional(r.parentExecutionARN),
                        .optional(r.mapRunARN), .text(r.status.rawValue), .text(r.startDate.iso8601),
                        .optional(stop?.iso8601), r.redriveCount.map { .integer(Int64($0)) } ?? .null,
                        .optional(r.redriveStatus?.rawValue), .optional(r.redriveDate?.iso8601), .text(r.source),
                        .text(now.iso8601), .text(now.iso8601), .text(now.iso8601), .optional(r.versionARN),
                        .optional(r.aliasARN),
                        r.redriveCount.map { .integer(Int64($0)) } ?? .null,
                        .optional(r.source == "DescribeExecution" ? "set" : nil),
                    ]
                )
                try db.run(
                    """
                    UPDATE state_machines SET newest_execution_start = ?, newest_execution_arn = ?
                    WHERE arn = ? AND (newest_execution_start IS NULL OR newest_execution_start < ?)
                    """,
                    [.text(r.startDate.iso8601), .text(r.arn), .text(r.stateMachineARN), .text(r.startDate.iso8601)]
                )
            }
        }
    }
}
