package import CostGuardCore

extension Ledger {
    /// Test support: one transaction that writes a pass, a state machine, an execution, a cluster and a journal
    /// decision, all carrying `number`. Used by the crash test to prove that a kill never leaves part of one.
    package func testing_writeBatch(number: Int, now: Timestamp) throws(LedgerError) {
        let t = now.iso8601
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:batch-\(number)"
        let ex = "arn:aws:states:us-east-1:123456789012:execution:batch-\(number):run"
        let cluster = "j-BATCH\(number)"
        try write("writing test batch \(number)") { db in
            try db.run(
                "INSERT INTO passes (started_at, trigger, dry_run, outcome, ended_at, summary) "
                    + "VALUES (?, 'reconcile', 0, 'ok', ?, ?)",
                [.text(t), .text(t), .text("batch \(number)")]
            )
            let pass = db.lastInsertRowID
            try db.run(
                "INSERT INTO state_machines (arn, name, region, account, first_seen_at, last_seen_at) "
                    + "VALUES (?, ?, 'us-east-1', '123456789012', ?, ?)",
                [.text(sm), .text("batch-\(number)"), .text(t), .text(t)]
            )
            try db.run(
                "INSERT INTO executions (arn, state_machine_arn, status, start_date, status_source, "
                    + "status_observed_at, first_seen_at, last_seen_at) VALUES (?, ?, 'ABORTED', ?, 'test', ?, ?, ?)",
                [.text(ex), .text(sm), .text(t), .text(t), .text(t), .text(t)]
            )
            try db.run(
                "INSERT INTO clusters (id, region, account, created_by_execution_arn, created_by_event_id, "
                    + "created_by_event_type, created_by_resource, first_seen_at, last_seen_at) "
                    + "VALUES (?, 'us-east-1', '123456789012', ?, 5, 'TaskSubmitted', 'createCluster.sync', ?, ?)",
                [.text(cluster), .text(ex), .text(t), .text(t)]
            )
            try db.run(
                "INSERT INTO journal (at, pass_id, kind, action, cluster_id, execution_arn, dry_run, reason) "
                    + "VALUES (?, ?, 'decision', 'would-terminate', ?, ?, 1, ?)",
                [.text(t), .integer(pass), .text(cluster), .text(ex), .text("batch \(number)")]
            )
        }
    }

    /// Test support: when this connection holds that each state machine's row was last touched (a listed machine
    /// is not sent to SQLite again until its time is `stateMachineSeenRefresh` old).
    package func testing_machinesSeen() throws(LedgerError) -> [String: Timestamp] {
        try locked("reading the state machines seen") { state in state.machinesSeen.all }
    }

    /// Test support: runs statements in one write transaction (to shape rows a test needs).
    package func testing_execute(_ statements: [String]) throws(LedgerError) {
        try write("running test statements") { db in
            for sql in statements { try db.run(sql) }
        }
    }

    /// Test support: SQLite's plan for a query (`EXPLAIN QUERY PLAN`), one step per line.
    package func testing_queryPlan(_ sql: String, _ parameters: [SQLValue] = []) throws(LedgerError) -> String {
        try read("explaining a query") { db in
            try db.query("EXPLAIN QUERY PLAN " + sql, parameters).compactMap { $0["detail"].text }.joined(
                separator: "\n"
            )
        }
    }

    /// Test support: a single text from a query.
    package func testing_text(_ sql: String) throws(LedgerError) -> String? {
        try read("reading") { db in try db.query(sql).first?[0].text }
    }

    /// Test support: how many prepared statements the connection keeps.
    package func testing_cachedStatementCount() throws(LedgerError) -> Int {
        try read("counting statements") { $0.cachedStatementCount }
    }

    /// Test support: a single integer from a query.
    package func testing_count(_ sql: String) throws(LedgerError) -> Int {
        try read("counting") { db in Int(try db.query(sql).first?[0].integer ?? 0) }
    }

    /// Test support: every `service.Operation` recorded in any pass's API call counts.
    package func testing_apiCalls() throws(LedgerError) -> [String] {
        try read("reading api calls") { db in
            var names: Set<String> = []
            try db.forEachRow("SELECT api_calls_json FROM passes WHERE api_calls_json IS NOT NULL") { row in
                if let text = row[0].text, let map = parseStringIntKeys(text) { names.formUnion(map) }
            }
            return names.sorted()
        }
    }
}

/// The keys of a flat JSON object.
func parseStringIntKeys(_ text: String) -> [String]? {
    (try? JSONValue(parsing: text))?.object.map { Array($0.keys) }
}
