public import CostGuardCore

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A state machine as the ledger knows it.
public struct StateMachineRow: Sendable, Equatable {
    public var arn: String
    public var name: String
    public var region: String
    public var account: String
    public var revisionID: String?
    public var definitionStatus: DefinitionStatus
    public var definitionProblem: String?
    public var definitionReadAt: Timestamp?
    public var createsClusters: Bool
    public var referencesClusters: Bool
    public var followsChildren: Bool
    public var newestExecutionStart: Timestamp?
    /// `STANDARD` or `EXPRESS`; `nil` until a listing or describe said.
    public var type: String? = nil

    /// An EXPRESS state machine: Step Functions keeps no execution list or history for it, so CostGuard cannot
    /// follow its executions (it does not try, and nothing is held for it).
    public var isExpress: Bool { type == "EXPRESS" }

    /// Its executions must be followed. A definition that could not be parsed may do anything: its executions are
    /// followed too (their histories say what they did), rather than silently ignored.
    public var touchesEMR: Bool {
        createsClusters || referencesClusters || followsChildren || definitionStatus == .unparsable
    }
}

/// An execution as observed from ListExecutions or DescribeExecution.
public struct ExecutionRecord: Sendable, Equatable {
    public var arn: String
    public var stateMachineARN: String
    public var name: String?
    public var parentExecutionARN: String?
    public var mapRunARN: String?
    public var status: ExecutionStatus
    public var startDate: Timestamp
    public var stopDate: Timestamp?
    /// `nil` when the source does not carry redrive fields (ListExecutions): the stored values are kept.
    public var redriveCount: Int?
    public var redriveStatus: RedriveStatus?
    public var redriveDate: Timestamp?
    /// `ListExecutions` or `DescribeExecution`.
    public var source: String
    /// The version the execution ran and the alias it was started through, when it was started on one.
    public var versionARN: String?
    public var aliasARN: String?

    public init(
        arn: String,
        stateMachineARN: String,
        name: String? = nil,
        parentExecutionARN: String? = nil,
        mapRunARN: String? = nil,
        status: ExecutionStatus,
        startDate: Timestamp,
        stopDate: Timestamp? = nil,
        redriveCount: Int? = nil,
        redriveStatus: RedriveStatus? = nil,
        redriveDate: Timestamp? = nil,
        source: String,
        versionARN: String? = nil,
        aliasARN: String? = nil
    ) {
        self.versionARN = versionARN
        self.aliasARN = aliasARN
        self.arn = arn
        self.stateMachineARN = stateMachineARN
        self.name = name
        self.parentExecutionARN = parentExecutionARN
        self.mapRunARN = mapRunARN
        self.status = status
        self.startDate = startDate
        self.stopDate = stopDate
        self.redriveCount = redriveCount
        self.redriveStatus = redriveStatus
        self.redriveDate = redriveDate
        self.source = source
    }
}

/// An execution row with its history cursor.
public struct ExecutionRow: Sendable, Equatable {
    public var record: ExecutionRecord
    public var historyLastEventID: Int
    public var historyNextToken: String?
    public var historyStatus: HistoryStatus
    public var historyProblem: String?
}

/// What a ListClusters or DescribeCluster said about a cluster.
public struct ClusterObservation: Sendable, Equatable {
    public var id: String
    public var state: ClusterState
    public var stateChangeReason: String?
    public var name: String?
    public var arn: String?
    public var terminationProtected: Bool?
    /// Only the tags that matter to the policy; `nil` when the source does not carry tags.
    public var tags: [String: String]?
    public var normalizedInstanceHours: Int?
    public var createdAt: Timestamp?
    public var readyAt: Timestamp?
    public var endedAt: Timestamp?
    /// `INSTANCE_GROUP` or `INSTANCE_FLEET` (DescribeCluster only).
    public var instanceCollectionType: String?
    /// DescribeCluster's `AutoTerminate` (the cluster ends after its last step).
    public var autoTerminate: Bool?
    public var source: String

    public init(
        id: String,
        state: ClusterState,
        stateChangeReason: String? = nil,
        name: String? = nil,
        arn: String? = nil,
        terminationProtected: Bool? = nil,
        tags: [String: String]? = nil,
        normalizedInstanceHours: Int? = nil,
        createdAt: Timestamp? = nil,
        readyAt: Timestamp? = nil,
        endedAt: Timestamp? = nil,
        instanceCollectionType: String? = nil,
        autoTerminate: Bool? = nil,
        source: String
    ) {
        self.autoTerminate = autoTerminate
        self.instanceCollectionType = instanceCollectionType
        self.id = id
        self.state = state
        self.stateChangeReason = stateChangeReason
        self.name = name
        self.arn = arn
        self.terminationProtected = terminationProtected
        self.tags = tags
        self.normalizedInstanceHours = normalizedInstanceHours
        self.createdAt = createdAt
        self.readyAt = readyAt
        self.endedAt = endedAt
        self.source = source
    }
}

/// A tracked cluster that may still bill, for the pass's observation step.
public struct TrackedCluster: Sendable, Equatable {
    public var id: String
    public var region: String
    public var account: String
    public var state: ClusterState
    /// What the ledger last recorded, to skip rewriting an unchanged observation.
    public var name: String?
    public var normalizedInstanceHours: Int?
    public var createdAt: String?
    /// The account of the execution that created it: another than `account` when a task created it with another
    /// account's role (`Credentials.RoleArn`), where this account's EMR cannot see it.
    public var creatorAccount: String

    public init(
        id: String,
        region: String,
        account: String,
        state: ClusterState,
        name: String? = nil,
        normalizedInstanceHours: Int? = nil,
        createdAt: String? = nil,
        creatorAccount: String? = nil
    ) {
        self.creatorAccount = creatorAccount ?? account
        self.id = id
        self.region = region
        self.account = account
        self.state = state
        self.name = name
        self.normalizedInstanceHours = normalizedInstanceHours
        self.createdAt = createdAt
    }
}

extension Ledger {
    // MARK: State machines

    /// Every state machine in the ledger, by ARN.
    public func stateMachines() throws(LedgerError) -> [String: StateMachineRow] {
        try cachedRead("reading state machines") { db, cache in
            try cache.cached(\.stateMachines, size: { $0.count + 1 }) { try Self.readStateMachines(db) }
        }
    }

    private static func readStateMachines(_ db: SQLiteConnection) throws -> [String: StateMachineRow] {
        var result: [String: StateMachineRow] = [:]
        try db.forEachRow("SELECT * FROM state_machines") { row in
            let arn = row["arn"].text ?? ""
            result[arn] = StateMachineRow(
                arn: arn,
                name: row["name"].text ?? "",
                region: row["region"].text ?? "",
                account: row["account"].text ?? "",
                revisionID: row["revision_id"].text,
                definitionStatus: row["definition_status"].text.flatMap(DefinitionStatus.init(rawValue:)) ?? .unread,
                definitionProblem: row["definition_problem"].text,
                definitionReadAt: row["definition_read_at"].text.flatMap(Timestamp.init(iso8601:)),
                createsClusters: row["creates_clusters"].integer == 1,
                referencesClusters: row["references_clusters"].integer == 1,
                followsChildren: row["follows_children"].integer == 1,
                newestExecutionStart: row["newest_execution_start"].text.flatMap(Timestamp.init(iso8601:)),
                type: row["type"].text
            )
        }
        return result
    }

    /// The steps the followed workflows gave these clusters: ids and names, per cluster (indexed by cluster).
    public func workflowSteps(
        of clusters: some Collection<String>
    ) throws(LedgerError) -> [String: (ids: Set<String>, names: Set<String>)] {
        guard !clusters.isEmpty else { return [:] }
        return try read("reading workflow steps") { db in
            var result: [String: (ids: Set<String>, names: Set<String>)] = [:]
            try db.forEachRow(
                "SELECT cluster_id, step_id, step_name FROM cluster_steps WHERE cluster_id IN (\(Self.listSQL))",
                [Self.listValue(Array(clusters))]
            ) { row in
                guard let cluster = row[0].text else { return }
                var known = result[cluster] ?? ([], [])
                if let id = row[1].text, !id.isEmpty { known.ids.insert(id) }
                if let name = row[2].text, !name.isEmpty { known.names.insert(name) }
                result[cluster] = known
            }
            return result
        }
    }

    /// Marks the histories of these executions (redriven since they were read to the end) as not read to the end, so
    /// that the next read resumes after the last event read and finds what the redrive did.
    public func reopenHistories(_ arns: [String]) throws(LedgerError) {
        guard !arns.isEmpty else { return }
        try write("reopening redriven histories") { db in
            _ = try db.run(
                "UPDATE executions SET history_status = 'partial' WHERE history_status = 'complete' AND arn IN (\(Self.listSQL))",
                [Self.listValue(arns)]
            )
        }
    }

    /// How the ledger marks an execution found gone with its deleted state machine (`status_source`).
    public static let goneWithStateMachineSource = "StateMachineDeleted"

    /// Records that a RUNNING execution no longer exists because its state machine was deleted (DescribeExecution:
    /// ExecutionDoesNotExist, DescribeStateMachine: StateMachineDoesNotExist): it ended FAILED (AWS fails such
    /// executions at their next transition) at `now`, the time it was found gone; its history, which can no longer
    /// be read, stands as far as it was read (a problem found in it stays).
    public func recordExecutionGone(arn: String, at now: Timestamp) throws(LedgerError) {
        try write("recording that \(arn) is gone") { db in
            _ = try db.run(
                """
                UPDATE executions SET status = 'FAILED', stop_date = ?, status_source = ?, status_observed_at = ?,
                    history_status = CASE WHEN history_status = 'incomplete' THEN 'incomplete' ELSE 'complete' END,
                    history_next_token = NULL
                WHERE arn = ? AND status = 'RUNNING'
                """,
                [.text(now.iso8601), .text(Self.goneWithStateMachineSource), .text(now.iso8601), .text(arn)]
            )
        }
    }

    /// Records a state machine's type when AWS said it another way than a listing (an EXPRESS machine answers
    /// `StateMachineTypeNotSupported` to ListExecutions).
    public func recordStateMachineType(arn: String, type: String) throws(LedgerError) {
        try write("recording the type of \(arn)") { db in
            _ = try db.run("UPDATE state_machines SET type = ? WHERE arn = ?", [.text(type), .text(arn)])
        }
    }

    /// How long a state machine's `last_seen_at` may lag behind the listings that saw it: a pass lists every state
    /// machine of the account, and rewriting all their rows every pass is a write (and a dropped read cache) for a
    /// time stamp only people read.
    public static let stateMachineSeenRefresh: Duration = .seconds(300)

    /// Records the state machines a ListStateMachines returned (new ones inserted, known ones touched when their
    /// `last_seen_at` is `stateMachineSeenRefresh` old or older; a known row's name, region, account and type are
    /// never rewritten). A machine this ledger wrote as seen less than `stateMachineSeenRefresh` ago is not even sent
    /// to SQLite again, since SQLite would leave its row alone (unless another connection has committed since).
    public func recordStateMachinesSeen(
        _ listed: [(arn: String, name: String, region: String, account: String, type: String?)],
        at now: Timestamp
    ) throws(LedgerError) {
        let due = try cachedRead("reading state machines seen") { _, cache in
            listed.filter { machine in
                guard let last = cache.machinesSeen[machine.arn] else { return true }
                let age = now.since(last)
                return age < .zero || age >= Self.stateMachineSeenRefresh
            }
        }
        guard !due.isEmpty else { return }
        let seen = try writeStateMachinesSeen(due, at: now)
        // Once committed (a rolled-back write is sent again next time): the rows written now, and those SQLite left
        // alone because another process touched them less than the refresh period ago, with that time (without it,
        // a `serve` started minutes after a `reconcile` would send every row again each pass until they aged).
        try cachedRead("noting state machines seen") { _, cache in
            cache.machinesSeen.merge(seen) { _, new in new }
        }
    }

    /// Upserts the rows; returns when each listed row was last touched: now for those inserted or touched, the row's
    /// own `last_seen_at` for those left alone.
    private func writeStateMachinesSeen(
        _ machines: [(arn: String, name: String, region: String, account: String, type: String?)],
        at now: Timestamp
    ) throws(LedgerError) -> [String: Timestamp] {
        // One statement for the whole list (a pass lists every state machine of the account).
        let rows =
            "["
            + machines.map { machine in
                "["
                    + [machine.arn, machine.name, machine.region, machine.account].map(jsonString).joined(
                        separator: ","
                    )
                    + "," + (machine.type.map(jsonString) ?? "null") + "]"
            }.joined(separator: ",") + "]"
        return try write("recording state machines") { db in
            try db.run(
                """
                INSERT INTO state_machines (arn, name, region, account, type, first_seen_at, last_seen_at)
                SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                    json_extract(value, '$[3]'), json_extract(value, '$[4]'), ?2, ?2
                FROM json_each(?1) WHERE true
                ON CONFLICT (arn) DO UPDATE SET last_seen_at = excluded.last_seen_at, deleted_at = NULL
                WHERE last_seen_at <= ?3 OR deleted_at IS NOT NULL
                """,
                // A row touched within the refresh period is left as it is (another process, or a `reconcile` run
                // a minute ago, wrote it): no page is written for it.
                [.text(rows), .text(now.iso8601), .text(now.adding(.zero - Self.stateMachineSeenRefresh).iso8601)]
            )
            // Each row's time as it now stands, written or left alone, in the same transaction.
            var seen: [String: Timestamp] = [:]
            seen.reserveCapacity(machines.count)
            try db.forEachRow(
                "SELECT arn, last_seen_at FROM state_machines WHERE arn IN (\(Self.listSQL))",
                [Self.listValue(machines.map(\.arn))]
            ) { row in
                if let arn = row[0].text, let last = row[1].text.flatMap(Timestamp.init(iso8601:)) { seen[arn] = last }
            }
            return seen
        }
    }

    /// Records what a definition says (or why it could not be read).
    public func recordDefinition(
        arn: String,
        revisionID: String?,
        sha256: String,
        type: String?,
        analysis: Result<DefinitionAnalysis, DefinitionAnalysis.Problem>,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording the definition of \(arn)") { db in
            switch analysis {
            case .success(let result):
                try db.run(
                    """
                    UPDATE state_machines SET revision_id = ?, definition_sha256 = ?, definition_read_at = ?,
                        definition_status = 'parsed', definition_problem = NULL, creates_clusters = ?,
                        references_clusters = ?, follows_children = ?, type = coalesce(?, type)
                    WHERE arn = ?
                    """,
                    [
                        .optional(revisionID), .text(sha256), .text(now.iso8601), .bool(result.createsClusters),
                        .bool(result.referencesClusters), .bool(result.startsExecutions || result.hasDistributedMap),
                        .optional(type), .text(arn),
                    ]
                )
            case .failure(let problem):
                try db.run(
                    """
                    UPDATE state_machines SET revision_id = ?, definition_sha256 = ?, definition_read_at = ?,
                        definition_status = 'unparsable', definition_problem = ?, type = coalesce(?, type)
                    WHERE arn = ?
                    """,
                    [
                        .optional(revisionID), .text(sha256), .text(now.iso8601), .text(problem.description),
                        .optional(type), .text(arn),
                    ]
                )
            }
        }
    }

    // MARK: Executions

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

    /// Executions by ARN: of one state machine, or the children of one execution, or (with neither) every one;
    /// with `running`, only the RUNNING ones (an indexed read: what a pass needs without loading what ended).
    public func executions(
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
    public func runningExecutionARNs(stateMachine: String) throws(LedgerError) -> Set<String> {
        try cachedRead("reading running executions") { db, cache in
            try cache.cached(\.runningARNs, stateMachine, size: \.count) {
                var result: Set<String> = []
                try db.forEachRow(Self.runningExecutionsQuery, [.text(stateMachine)]) { row in
                    if let arn = row[0].text { result.insert(arn) }
                }
                return result
            }
        }
    }

    package static let runningExecutionsQuery =
        "SELECT arn FROM executions WHERE status = 'RUNNING' AND state_machine_arn = ?"

    /// The status the ledger has for each of these executions that it knows.
    ///
    /// An array, not `some Collection<String>`: a generic public function called from another module runs
    /// unspecialized, every dictionary lookup and insert going through witness tables (a steady pass asks this for
    /// every listed execution: 2.1 M instructions generic).
    public func executionStatuses(arns: [String]) throws(LedgerError) -> [String: ExecutionStatus] {
        try cachedRead("reading execution statuses") { db, cache in
            try cache.lookup(arns, in: \.statuses) { unknown in
                var found: [String: ExecutionStatus] = [:]
                try db.forEachRow(
                    "SELECT arn, status FROM executions WHERE arn IN (\(Self.listSQL))",
                    [Self.listValue(unknown)]
                ) { row in
                    if let arn = row[0].text, let status = row[1].text.flatMap(ExecutionStatus.init(rawValue:)) {
                        found[arn] = status
                    }
                }
                return found
            }
        }
    }

    /// How many executions of a state machine the ledger has that started at or after `start` (an indexed count).
    public func executionCount(stateMachine: String, startedSince start: Timestamp) throws(LedgerError) -> Int {
        let since = start.iso8601
        let key = stateMachine + " " + since
        return try cachedRead("counting executions") { db, cache in
            try cache.cached(\.executionCounts, key) {
                Int(
                    try db.query(
                        "SELECT count(*) FROM executions WHERE state_machine_arn = ? AND start_date >= ?",
                        [.text(stateMachine), .text(since)]
                    ).first?[0].integer ?? 0
                )
            }
        }
    }

    /// The RUNNING children of Distributed Map runs.
    public func runningMapRunChildren() throws(LedgerError) -> [String: ExecutionRow] {
        try executionRows("SELECT * FROM executions WHERE status = 'RUNNING' AND map_run_arn IS NOT NULL", [])
    }

    /// Per state machine, one of its RUNNING executions whose history could not be read in full or understood,
    /// and why (`execution ARN: problem`), for the reason of what it holds. Read only when
    /// `stateMachinesWithIncompleteRunningHistories` (kept in memory) is not empty.
    public func incompleteRunningHistories() throws(LedgerError) -> [String: String] {
        guard !(try stateMachinesWithIncompleteRunningHistories()).isEmpty else { return [:] }
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

    /// The state machines that have a RUNNING execution that is not a child (a Map Run's or a started one's):
    /// answered from the index, and kept in memory while the ledger is unchanged (every pass asks it).
    public func stateMachinesWithRunningExecutions() throws(LedgerError) -> Set<String> {
        try runningStateMachines(\.machinesWithRunning, where: "parent_execution_arn IS NULL")
    }

    /// The state machines that have a RUNNING execution whose history could not be read in full.
    /// (Every pass asks it, and it visits every RUNNING execution: the answer is kept while the ledger is unchanged.)
    public func stateMachinesWithIncompleteRunningHistories() throws(LedgerError) -> Set<String> {
        try runningStateMachines(\.incompleteRunningHistories, where: "history_status = 'incomplete'")
    }

    /// The state machines of the RUNNING executions that meet `condition` (SQL), kept in `slot` of the read cache.
    private func runningStateMachines(
        _ slot: ReferenceWritableKeyPath<LedgerReadCache, Set<String>?>,
        where condition: String
    ) throws(LedgerError) -> Set<String> {
        try cachedRead("reading state machines with running executions") { db, cache in
            try cache.cached(slot, size: { $0.count + 1 }) {
                var result: Set<String> = []
                try db.forEachRow(
                    "SELECT DISTINCT state_machine_arn FROM executions WHERE status = 'RUNNING' AND \(condition)"
                ) { row in
                    if let arn = row[0].text { result.insert(arn) }
                }
                return result
            }
        }
    }

    /// The executions with these ARNs that the ledger has.
    public func executions(arns: some Collection<String>) throws(LedgerError) -> [String: ExecutionRow] {
        var result: [String: ExecutionRow] = [:]
        try withList(of: arns, "reading executions") { db, list, values throws(SQLiteError) in
            try db.forEachRow("SELECT * FROM executions WHERE arn IN (\(list))", values) { row in
                let execution = Self.executionRow(row)
                result[execution.record.arn] = execution
            }
        }
        return result
    }

    /// The executions of a state machine whose history must be read: never read, ended and not read to the end, or
    /// whose last read failed (RUNNING ones too: retried every pass from the cursor). An execution whose events
    /// were all read and one of them was not understood is not read again (nothing new would clear it).
    public func executionsNeedingHistory(stateMachine: String) throws(LedgerError) -> [String: ExecutionRow] {
        try cachedRead("reading executions") { db, cache in
            try cache.cached(\.needingHistory, stateMachine, size: \.count) {
                var result: [String: ExecutionRow] = [:]
                try db.forEachRow(
                    """
                    SELECT * FROM executions WHERE history_status <> 'complete' AND state_machine_arn = ?
                      AND ((history_status <> 'incomplete' AND (history_status = 'unread' OR status <> 'RUNNING'))
                           OR (history_status = 'incomplete' AND substr(history_problem, 1, ?) = ?))
                    """,
                    [.text(stateMachine), .integer(Int64(Self.readFailurePrefix.count)), .text(Self.readFailurePrefix)]
                ) { row in
                    let execution = Self.executionRow(row)
                    result[execution.record.arn] = execution
                }
                return result
            }
        }
    }

    func executionRows(_ sql: String, _ parameters: [SQLValue]) throws(LedgerError) -> [String: ExecutionRow] {
        try read("reading executions") { db in
            var result: [String: ExecutionRow] = [:]
            try db.forEachRow(sql, parameters) { row in
                let execution = Self.executionRow(row)
                result[execution.record.arn] = execution
            }
            return result
        }
    }

    /// An `executions` row as the pass uses it.
    static func executionRow(_ row: SQLRow) -> ExecutionRow {
        let record = ExecutionRecord(
            arn: row["arn"].text ?? "",
            stateMachineARN: row["state_machine_arn"].text ?? "",
            name: row["name"].text,
            parentExecutionARN: row["parent_execution_arn"].text,
            mapRunARN: row["map_run_arn"].text,
            status: ExecutionStatus(rawValue: row["status"].text ?? "") ?? .running,
            startDate: row["start_date"].text.flatMap(Timestamp.init(iso8601:)) ?? Timestamp(millisecondsSinceEpoch: 0),
            stopDate: row["stop_date"].text.flatMap(Timestamp.init(iso8601:)),
            redriveCount: Int(row["redrive_count"].integer ?? 0),
            redriveStatus: row["redrive_status"].text.flatMap(RedriveStatus.init(rawValue:)),
            redriveDate: row["redrive_date"].text.flatMap(Timestamp.init(iso8601:)),
            source: row["status_source"].text ?? ""
        )
        return ExecutionRow(
            record: record,
            historyLastEventID: Int(row["history_last_event_id"].integer ?? 0),
            historyNextToken: row["history_next_token"].text,
            historyStatus: row["history_status"].text.flatMap(HistoryStatus.init(rawValue:)) ?? .unread,
            historyProblem: row["history_problem"].text
        )
    }

    /// Upserts executions; redrive fields are kept when the record does not carry them. Advances the state
    /// machines' newest-execution cursors.
    public func recordExecutions(_ records: [ExecutionRecord], at now: Timestamp) throws(LedgerError) {
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

    /// Records what a history read found, in one transaction: created clusters (with their provenance), references,
    /// and the execution's history cursor and status.
    public func recordHistory(
        executionARN: String,
        findings: HistoryFindings,
        nextToken: String?,
        executionEnded: Bool,
        region: String,
        account: String,
        at now: Timestamp
    ) throws(LedgerError) {
        try recordHistories(
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
    public func recordHistories(_ reads: [HistoryRead], at now: Timestamp) throws(LedgerError) {
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
                        .integer(Int64(Self.readFailurePrefix.count)), .text(Self.readFailurePrefix),
                        .text(status.rawValue),
                        .integer(Int64(Self.readFailurePrefix.count)), .text(Self.readFailurePrefix),
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
    public func recordHistoryFailure(executionARN: String, problem: String, at now: Timestamp) throws(LedgerError) {
        let text = Self.readFailurePrefix + problem
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
                    .integer(Int64(Self.readFailurePrefix.count)), .text(Self.readFailurePrefix), .text(text),
                    .text(now.iso8601), .text(executionARN),
                ]
            )
        }
    }

    /// How the problem of a failed history read starts: such a problem is retried (from the cursor) every pass and
    /// cleared by the first read that succeeds, unlike a problem found in the events themselves.
    public static let readFailurePrefix = "history read failed: "

    // MARK: Clusters

    /// Clusters whose last known state may still bill (or is not known), for observation.
    public func trackedClusters() throws(LedgerError) -> [TrackedCluster] {
        try cachedRead("reading tracked clusters") { db, cache in
            try cache.cached(\.trackedClusters, size: { $0.count + 1 }) {
                var result: [TrackedCluster] = []
                try db.forEachRow(
                    """
                    SELECT id, region, account, state, name, normalized_instance_hours, cluster_created_at,
                        created_by_execution_arn
                    FROM clusters WHERE state IN \(Self.billingOrUnknownStates)
                    ORDER BY id
                    """
                ) { row in
                    result.append(
                        TrackedCluster(
                            id: row[0].text ?? "",
                            region: row[1].text ?? "",
                            account: row[2].text ?? "",
                            state: ClusterState(rawValue: row[3].text ?? "") ?? .unknown,
                            name: row[4].text,
                            normalizedInstanceHours: row[5].integer.map { Int($0) },
                            createdAt: row[6].text,
                            creatorAccount: row[7].text.map(ExecutionARN.account(of:))
                        )
                    )
                }
                return result
            }
        }
    }

    /// Records cluster observations (only for clusters the ledger tracks).
    public func recordClusterObservations(_ observations: [ClusterObservation], at now: Timestamp) throws(LedgerError) {
        guard !observations.isEmpty else { return }
        try write("recording cluster states") { db in
            for o in observations {
                try db.run(
                    """
                    UPDATE clusters SET state = ?, state_change_reason = coalesce(?, state_change_reason),
                        state_source = ?, state_observed_at = ?, name = coalesce(?, name), arn = coalesce(?, arn),
                        termination_protected = coalesce(?, termination_protected), tags_json = coalesce(?, tags_json),
                        normalized_instance_hours = coalesce(?, normalized_instance_hours),
                        cluster_created_at = coalesce(?, cluster_created_at), cluster_ready_at = coalesce(?, cluster_ready_at),
                        cluster_ended_at = coalesce(?, cluster_ended_at), last_seen_at = ?,
                        instance_collection_type = coalesce(?, instance_collection_type),
                        auto_terminate = coalesce(?, auto_terminate)
                    WHERE id = ?
                    """,
                    [
                        .text(o.state.rawValue), .optional(o.stateChangeReason), .text(o.source), .text(now.iso8601),
                        .optional(o.name), .optional(o.arn), .optional(o.terminationProtected),
                        .optional(o.tags.map(jsonStringMap)), .optional(o.normalizedInstanceHours),
                        .optional(o.createdAt?.iso8601), .optional(o.readyAt?.iso8601), .optional(o.endedAt?.iso8601),
                        .text(now.iso8601), .optional(o.instanceCollectionType), .optional(o.autoTerminate),
                        .text(o.id),
                    ]
                )
                if o.state.hasEnded {
                    // Ended by the workflow, a person or EMR (CostGuard's own terminations keep 'terminated').
                    try db.run(
                        """
                        UPDATE clusters SET disposition = 'ended', disposition_at = ?,
                            disposition_reason = 'the cluster is ' || ? || coalesce(' (' || ? || ')', '')
                        WHERE id = ? AND disposition <> 'terminated'
                        """,
                        [.text(now.iso8601), .text(o.state.rawValue), .optional(o.stateChangeReason), .text(o.id)]
                    )
                }
            }
        }
    }

    /// The instance groups and fleets named by RUNNING executions whose task did not name the cluster, by the
    /// executions' account and region.
    public func runningUnitReferences() throws(LedgerError) -> [Scope: [UnitReference]] {
        try read("reading instance group references") { db in
            var result: [Scope: [UnitReference]] = [:]
            try db.forEachRow(
                """
                SELECT r.unit_id, r.execution_arn, r.resource, m.account, m.region
                FROM instance_group_references r JOIN executions e ON e.arn = r.execution_arn
                    JOIN state_machines m ON m.arn = e.state_machine_arn
                WHERE e.status = 'RUNNING' ORDER BY r.id
                """
            ) { row in
                guard let unit = row[0].text, let execution = row[1].text else { return }
                let scope = Scope(account: row[3].text ?? "", region: row[4].text ?? "")
                result[scope, default: []].append(
                    UnitReference(unitID: unit, executionARN: execution, resource: row[2].text ?? "")
                )
            }
            return result
        }
    }

    /// Records a cluster's auto-termination policy as GetAutoTerminationPolicy answered (`nil`: it has none).
    public func recordAutoTerminationPolicy(
        of clusterID: String,
        idleTimeoutSeconds: Int?,
        at now: Timestamp
    ) throws(LedgerError) {
        try write("recording an auto-termination policy") { db in
            try db.run(
                "UPDATE clusters SET idle_timeout_seconds = ?, auto_termination_read_at = ? WHERE id = ?",
                [.optional(idleTimeoutSeconds), .text(now.iso8601), .text(clusterID)]
            )
        }
    }

    /// Every cluster's current disposition, by id (a full read: for tests and tools, not for a pass).
    public func dispositions() throws(LedgerError) -> [String: String] {
        try read("reading dispositions") { db in
            var result: [String: String] = [:]
            try db.forEachRow("SELECT id, disposition FROM clusters") { row in
                if let id = row["id"].text { result[id] = row["disposition"].text }
            }
            return result
        }
    }

    /// These clusters' current dispositions, by id.
    public func dispositions(of ids: some Collection<String>) throws(LedgerError) -> [String: String] {
        var result: [String: String] = [:]
        try withList(of: ids, "reading dispositions") { db, list, values throws(SQLiteError) in
            try db.forEachRow("SELECT id, disposition FROM clusters WHERE id IN (\(list))", values) { row in
                if let id = row["id"].text { result[id] = row["disposition"].text }
            }
        }
        return result
    }

    /// Records that TerminateJobFlows succeeded for these clusters: the outcome of each one's intent and the
    /// clusters' new state, in one transaction, so that the ledger never shows a termination journaled while its
    /// cluster still looks billing, or the reverse.
    ///
    /// - Parameters:
    ///   - outcomes: the intent each cluster's call answered, with the intent's record.
    ///   - message: kept with each outcome (e.g. how it was completed after a restart).
    ///   - reasonPrefix: put before each intent's reason in its cluster's disposition reason.
    public func recordTermination(
        outcomes: [(intentSeq: Int64, record: JournalRecord)],
        requestID: String?,
        message: String? = nil,
        reasonPrefix: String,
        pass: PassID?,
        at now: Timestamp
    ) throws(LedgerError) {
        guard !outcomes.isEmpty else { return }
        try write("journaling and recording \(outcomes.count) termination(s)") { db in
            for outcome in outcomes {
                try insert(
                    db,
                    kind: .outcome,
                    record: outcome.record,
                    pass: pass,
                    at: now,
                    intentSeq: outcome.intentSeq,
                    result: .succeeded,
                    requestID: requestID,
                    errorCode: nil,
                    errorMessage: message
                )
            }
            try Self.markTerminated(
                db,
                outcomes.compactMap { outcome in
                    outcome.record.clusterID.map { ($0, reasonPrefix + outcome.record.reason) }
                },
                at: now
            )
        }
    }

    static func markTerminated(
        _ db: SQLiteConnection,
        _ clusters: [(id: String, reason: String)],
        at now: Timestamp
    ) throws {
        for (id, reason) in clusters {
            try db.run(
                // TerminateJobFlows is asynchronous: the cluster is TERMINATING until a later observation says more.
                """
                UPDATE clusters SET disposition = 'terminated', disposition_reason = ?, disposition_at = ?,
                    state = CASE WHEN state IN ('TERMINATED', 'TERMINATED_WITH_ERRORS') THEN state ELSE 'TERMINATING' END,
                    state_source = 'TerminateJobFlows'
                WHERE id = ?
                """,
                [.text(reason), .text(now.iso8601), .text(id)]
            )
        }
    }

    /// Records the policy's decisions: disposition, reason and orphaned-since. Only the clusters whose row the
    /// decision changes are written (a pass decides every billing cluster again; most decisions repeat the last).
    public func recordDecisions(_ decisions: [Decision], at now: Timestamp) throws(LedgerError) {
        guard !decisions.isEmpty else { return }
        // Which decisions change their cluster's row, found without a write transaction: a steady pass changes none.
        let changed = try cachedRead("reading dispositions") { db, cache in try Self.changing(decisions, db, cache) }
        guard !changed.isEmpty else { return }
        try cachedWrite("recording dispositions") { db, cache in
            // Found again inside the transaction, before its first UPDATE (another process may have written since).
            for d in try Self.changing(changed, db, cache) {
                try db.run(
                    """
                    UPDATE clusters SET disposition = ?, disposition_reason = ?, disposition_at = ?,
                        orphaned_since = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(orphaned_since, ?) END
                    WHERE id = ? AND NOT (disposition = 'terminated' AND ? = 'ended')
                      AND (disposition IS NOT ? OR disposition_reason IS NOT ? OR orphaned_since IS NOT ?)
                    """,
                    [
                        .text(d.disposition.rawValue), .text(d.reason), .text(now.iso8601),
                        .optional(d.orphanedSince?.iso8601), .optional(d.orphanedSince?.iso8601), .text(d.clusterID),
                        .text(d.disposition.rawValue), .text(d.disposition.rawValue), .text(d.reason),
                        .optional(d.orphanedSince?.iso8601),
                    ]
                )
            }
        }
    }

    /// The decisions that change their cluster's row, against what each cluster has now: from the cache while
    /// nothing changed, else read.
    private static func changing(
        _ decisions: [Decision],
        _ db: SQLiteConnection,
        _ cache: LedgerReadCache
    ) throws -> [Decision] {
        let current = try cache.lookup(decisions.map(\.clusterID), in: \.dispositions) { unknown in
            var found: [String: LedgerReadCache.Disposition] = [:]
            try db.forEachRow(
                "SELECT id, disposition, disposition_reason, orphaned_since FROM clusters WHERE id IN (\(Self.listSQL))",
                [Self.listValue(unknown)]
            ) { row in
                if let id = row[0].text {
                    found[id] = LedgerReadCache.Disposition(row[1].text, row[2].text, row[3].text)
                }
            }
            return found
        }
        return decisions.elements(whereIndex: { index in
            // The same test as the UPDATE's own WHERE, so that skipping a row changes nothing.
            let disposition = decisions[index].disposition
            guard let row = current[decisions[index].clusterID],
                !(row.disposition == "terminated" && disposition == .ended)
            else { return false }
            return !sameText(row.disposition, disposition.rawValue) || !sameText(row.reason, decisions[index].reason)
                || !sameText(row.orphanedSince, decisions[index].orphanedSince?.iso8601)
        })
    }

    /// SQL's `IS` for text: both NULL, or the same bytes (Swift's `==` compares canonical equivalence instead).
    static func sameText(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (var a?, var b?):
            // memcmp of the contiguous UTF-8 (native strings already are): a pass compares ~1,000 reasons.
            guard a.utf8.count == b.utf8.count else { return false }
            return a.withUTF8 { x in
                b.withUTF8 { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
            }
        default: return false
        }
    }

    /// The facts the policy needs about every tracked cluster that may still bill.
    ///
    /// - Parameter passStart: observations at or after this time count as "this pass".
    ///   - observed: clusters observed this pass whose unchanged observation was not rewritten.
    public func policyFacts(passStart: Timestamp, observed: Set<String> = []) throws(LedgerError) -> [ClusterFacts] {
        try cachedSnapshot("reading policy facts") { db, cache in
            let read = try cache.cached(\.policyFacts, size: { $0.count + 1 }) { try Self.readPolicyFacts(db) }
            return read.indices.map { index in
                var facts = read[index].facts
                facts.observedThisPass =
                    observed.contains(facts.id) || (read[index].observedAt.map { $0 >= passStart } ?? false)
                return facts
            }
        }
    }

    /// The policy facts of every tracked cluster that may still bill, with the time its state was observed.
    private static func readPolicyFacts(
        _ db: SQLiteConnection
    ) throws -> [(facts: ClusterFacts, observedAt: Timestamp?)] {
        // Only what the clusters that may still bill need: their creators and the executions referencing them
        // (indexed reads: a pass does not slow down as ended executions and clusters pile up).
        let executions = try executionFacts(db)
        var references: [String: [ExecutionFacts]] = [:]
        try db.forEachRow(
            """
            SELECT DISTINCT cluster_id, execution_arn FROM cluster_references
            WHERE cluster_id IN (SELECT id FROM clusters WHERE state IN \(Self.billingOrUnknownStates))
            """
        ) { row in
            // By position (the SELECT's order): a lookup by name hashes the column name for every value.
            guard let cluster = row[0].text, let arn = row[1].text, let facts = executions[arn] else { return }
            references[cluster, default: []].append(facts)
        }
        var result: [(facts: ClusterFacts, observedAt: Timestamp?)] = []
        try db.forEachRow(
            """
            SELECT id, created_by_execution_arn, account, region, state, state_observed_at, termination_protected,
                tags_json, auto_terminate, idle_timeout_seconds, auto_termination_read_at
            FROM clusters WHERE state IN \(Self.billingOrUnknownStates) ORDER BY id
            """
        ) { row in
            guard let id = row[0].text, let creatorARN = row[1].text, let creator = executions[creatorARN] else {
                return
            }
            let facts = ClusterFacts(
                id: id,
                scope: Scope(account: row[2].text ?? "", region: row[3].text ?? ""),
                state: ClusterState(rawValue: row[4].text ?? "") ?? .unknown,
                observedThisPass: false,
                terminationProtected: row[6].integer.map { $0 == 1 },
                tags: row[7].text.flatMap(parseStringMap),
                autoTerminate: row[8].integer.map { $0 == 1 },
                autoTerminationPolicy: row[10].text == nil
                    ? .unread : row[9].integer.map { .idleTimeout(.seconds($0)) } ?? .none,
                creator: creator,
                referencedBy: (references[id] ?? []).filter { $0.arn != creatorARN }
            )
            result.append((facts, row[5].text.flatMap(Timestamp.init(iso8601:))))
        }
        return result
    }

    /// The cluster states a decision is still made for (SQL list).
    static let billingOrUnknownStates = "('UNKNOWN', 'STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING')"

    static func executionFacts(_ db: SQLiteConnection) throws -> [String: ExecutionFacts] {
        var result: [String: ExecutionFacts] = [:]
        // Two indexed joins (creators, then referencing executions) rather than one `IN (… UNION …)`, which builds
        // a temporary B-tree of the ARNs first: about half the time at 1,000 clusters. An execution in both is read
        // twice and kept once.
        try db.forEachRow(
            """
            SELECT e.arn, e.state_machine_arn, e.status, e.stop_date, e.redrive_status, e.redrive_count, e.history_status,
                e.status_source, e.state_machine_version_arn, e.state_machine_alias_arn
            FROM clusters c JOIN executions e ON e.arn = c.created_by_execution_arn
            WHERE c.state IN \(Self.billingOrUnknownStates)
            UNION ALL
            SELECT e.arn, e.state_machine_arn, e.status, e.stop_date, e.redrive_status, e.redrive_count, e.history_status,
                e.status_source, e.state_machine_version_arn, e.state_machine_alias_arn
            FROM cluster_references r JOIN clusters c ON c.id = r.cluster_id JOIN executions e ON e.arn = r.execution_arn
            WHERE c.state IN \(Self.billingOrUnknownStates)
            """
        ) { row in
            // By position (the SELECT's order), and each execution once (a creator that also references is read twice).
            guard let arn = row[0].text, result[arn] == nil else { return }
            let status = ExecutionStatus(rawValue: row[2].text ?? "") ?? .running
            let history = row[6].text.flatMap(HistoryStatus.init(rawValue:)) ?? .unread
            result[arn] = ExecutionFacts(
                arn: arn,
                stateMachineARN: row[1].text ?? "",
                status: status,
                stopDate: row[3].text.flatMap(Timestamp.init(iso8601:)),
                redriveStatus: row[4].text.flatMap(RedriveStatus.init(rawValue:)),
                redriveCount: Int(row[5].integer ?? 0),
                historyComplete: history == .complete || (history == .partial && !status.hasEnded),
                goneWithStateMachine: row[7].text == Self.goneWithStateMachineSource,
                qualifiedStateMachineARNs: [row[8].text, row[9].text].compactMap { $0 }
            )
        }
        return result
    }
}

/// How far a state machine's definition was understood (`state_machines.definition_status`).
public enum DefinitionStatus: String, Sendable, Hashable, CaseIterable {
    case unread
    case parsed
    /// Not readable or not understood: the machine is followed as one that may do anything.
    case unparsable
}

/// How far an execution's history was read (`executions.history_status`).
public enum HistoryStatus: String, Sendable, Hashable, CaseIterable {
    case unread
    /// Read so far, the execution still running (or pages left).
    case partial
    /// Read to the end of an ended execution.
    case complete
    /// A read failed, or something in the events could not be understood: its clusters are `unknown`.
    case incomplete
}

/// `{"k":"v",…}` with sorted keys.
func jsonStringMap(_ map: [String: String]) -> String {
    "{" + map.keys.sorted().map { "\(jsonString($0)):\(jsonString(map[$0]!))" }.joined(separator: ",") + "}"
}

/// Parses a flat JSON object of strings.
func parseStringMap(_ text: String) -> [String: String]? {
    guard let object = (try? JSONValue(parsing: text))?.object else { return nil }
    return object.compactMapValues(\.string)
}
