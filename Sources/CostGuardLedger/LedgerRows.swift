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

    static func readStateMachines(_ db: SQLiteConnection) throws -> [String: StateMachineRow] {
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

    /// How the ledger marks an execution found gone with its deleted state machine (`status_source`).
    public static let goneWithStateMachineSource = "StateMachineDeleted"

    /// How long a state machine's `last_seen_at` may lag behind the listings that saw it: a pass lists every state
    /// machine of the account, and rewriting all their rows every pass is a write (an fsynced transaction) for a
    /// time stamp only people read.
    public static let stateMachineSeenRefresh: Duration = .seconds(300)

    package static let runningExecutionsQuery =
        "SELECT arn FROM executions WHERE status = 'RUNNING' AND state_machine_arn = ?"

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

    /// How the problem of a failed history read starts: such a problem is retried (from the cursor) every pass and
    /// cleared by the first read that succeeds, unlike a problem found in the events themselves.
    public static let readFailurePrefix = "history read failed: "

    // MARK: Clusters

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

    /// The decisions that change their cluster's row, against what each cluster has now.
    static func changing(
        _ decisions: [Decision],
        _ db: SQLiteConnection
    ) throws -> [(decision: Decision, disposition: String?)] {
        var current: [String: (disposition: String?, reason: String?, orphanedSince: String?)] = [:]
        try db.forEachRow(
            "SELECT id, disposition, disposition_reason, orphaned_since FROM clusters WHERE id IN (\(Self.listSQL))",
            [Self.listValue(decisions.map(\.clusterID))]
        ) { row in
            if let id = row[0].text { current[id] = (row[1].text, row[2].text, row[3].text) }
        }
        var result: [(decision: Decision, disposition: String?)] = []
        for index in decisions.indices {
            // The same test as the UPDATE's own WHERE, so that skipping a row changes nothing.
            let disposition = decisions[index].disposition
            guard let row = current[decisions[index].clusterID],
                !(row.disposition == "terminated" && disposition == .ended)
            else { continue }
            if !sameText(row.disposition, disposition.rawValue) || !sameText(row.reason, decisions[index].reason)
                || !sameText(row.orphanedSince, decisions[index].orphanedSince?.iso8601)
            {
                result.append((decisions[index], row.disposition))
            }
        }
        return result
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

    /// The policy facts of every tracked cluster that may still bill, with the time its state was observed.
    static func readPolicyFacts(
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
