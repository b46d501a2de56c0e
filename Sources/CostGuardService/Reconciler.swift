public import AWSClients
public import CostGuardCore
public import CostGuardLedger
public import Logging

/// The AWS clients of one region.
public struct RegionClients: Sendable {
    public var region: String
    public var sfn: any StepFunctionsAPI
    public var emr: any EMRAPI

    public init(region: String, sfn: any StepFunctionsAPI, emr: any EMRAPI) {
        self.region = region
        self.sfn = sfn
        self.emr = emr
    }
}

/// Settings of a pass beyond the policy.
public struct ReconcileConfiguration: Sendable {
    public var policy = PolicyConfiguration()
    /// Re-read a state machine's definition when it was last read longer ago than this. Default 1 h.
    public var definitionRefresh: Duration = .seconds(3600)
    /// When listing new executions newest first, read back this far past the newest known start (ListExecutions
    /// is eventually consistent). Default 5 min.
    public var executionOverlap: Duration = .seconds(300)
    /// `reconcile` or `serve`, recorded with the pass.
    public var trigger = "reconcile"
    /// The channels notices are written for (the outbox); empty: none.
    public var notify: [NoticeChannel] = []
    /// Prices for the notices' costs (the configuration's `[prices]`).
    public var prices = PriceTable()

    public init() {}
}

/// How a pass went.
public struct PassSummary: Sendable {
    public var passID: PassID
    public var outcome: PassOutcome
    /// Clusters per disposition after the pass.
    public var dispositions: [Disposition: Int]
    /// Clusters terminated this pass.
    public var terminated: [String]
    /// Why the pass is degraded (empty when it is not).
    public var problems: [String]
    /// AWS calls by `service.Operation`.
    public var apiCalls: [String: Int]
    public var decisions: [Decision]

    /// One line for stderr and the systemd status.
    public var line: String {
        let parts = Disposition.allCases.compactMap { d in dispositions[d].map { "\(d.rawValue)=\($0)" } }
        return "pass \(passID): \(outcome.rawValue); terminated \(terminated.count); "
            + (parts.isEmpty ? "no clusters" : parts.joined(separator: " "))
            + "; \(apiCalls.values.reduce(0, +)) AWS calls"
            + (problems.isEmpty ? "" : "; degraded: \(problems.count) problem(s), first: \(problems[0])")
    }
}

/// One reconcile pass: discover, observe, decide (pure policy), re-check, journal, act.
///
/// Safety order before a termination (see `ReconcilePolicy`): the creator ended (re-read with DescribeExecution
/// right before acting, redrive count unchanged) and is past its grace; no RUNNING execution references the
/// cluster; the cluster is billing, not exempt, not protected (or unprotect is opted in), and came from that
/// execution's history; the cap is not reached and the region's reads were complete. Then the intent is journaled
/// (committed), the call made, and the outcome journaled. Anything uncertain leaves the cluster alone.
public struct Reconciler: Sendable {
    public let ledger: Ledger
    public let regions: [RegionClients]
    public var configuration: ReconcileConfiguration
    public let counter: CallCounter
    public let now: @Sendable () -> Timestamp
    public let logger: Logger

    public init(
        ledger: Ledger,
        regions: [RegionClients],
        configuration: ReconcileConfiguration,
        counter: CallCounter,
        now: @escaping @Sendable () -> Timestamp,
        logger: Logger
    ) {
        self.ledger = ledger
        self.regions = regions
        self.configuration = configuration
        self.counter = counter
        self.now = now
        self.logger = logger
    }

    /// Runs one pass. Ledger failures end the pass (they are thrown); AWS failures degrade it.
    public func runPass() async throws(LedgerError) -> PassSummary {
        counter.reset()
        let cpuAtStart = ProcessUsage.cpuSeconds()
        let passStart = now()
        let pass = try ledger.journal.startPass(
            trigger: configuration.trigger,
            dryRun: configuration.policy.dryRun,
            at: passStart
        )
        var problems = Problems()
        try await resolveOpenIntents(pass: pass, problems: &problems)
        for region in regions {
            try await discover(region, problems: &problems)
        }
        var observed: Set<String> = []
        for region in regions {
            let seen = try await observeClusters(region, problems: &problems)
            // One region (the usual case): the set as it is, not a copy of it element by element.
            if observed.isEmpty { observed = seen } else { observed.formUnion(seen) }
        }
        var decisions = try decide(passStart: passStart, problems: problems, observed: observed)
        // Decisions are read in place by index below: iterating them would copy each one (and retain its strings).
        if decisions.indices.contains(where: { decisions[$0].isCandidate }) {
            // Something may be acted on: bring RUNNING references (and hand-offs) up to date, then decide again.
            for region in regions
            where decisions.contains(where: { $0.scope.region == region.region && $0.isCandidate }) {
                try await refreshRunningHistories(region, problems: &problems)
            }
            decisions = try decide(passStart: passStart, problems: problems, observed: observed)
        }
        // Costs first: nothing slow stands between a chunk's re-check and its TerminateJobFlows.
        try await readMissingCapacity(decisions, problems: &problems)
        let acted = try await act(
            on: decisions,
            pass: pass,
            passStart: passStart,
            observed: observed,
            problems: &problems
        )
        let terminated = acted.terminated
        if !acted.redecided.isEmpty {
            decisions = decisions.map { acted.redecided[$0.clusterID] ?? $0 }
        }
        // Without terminations the decisions stand as they are (no copy of each one).
        let refused = problems.refused
        let final =
            terminated.isEmpty && refused.isEmpty
            ? decisions
            : decisions.map { decision -> Decision in
                if let refusal = refused[decision.clusterID], !terminated.contains(decision.clusterID) {
                    var set = decision
                    set.disposition = .unknown
                    set.reason = "set aside: AWS refused to terminate it (\(refusal)); " + decision.reason
                    set.action = nil
                    return set
                }
                guard terminated.contains(decision.clusterID) else { return decision }
                var done = decision
                done.disposition = .terminated
                done.reason = "terminated by CostGuard: " + decision.reason
                done.action = nil
                return done
            }
        // Each changed disposition with its journal row (would-terminate, deferred, protected), in one transaction.
        try ledger.decisions.record(
            final,
            journal: journalRecords(final),
            notices: orphanNotices(final),
            channels: configuration.notify,
            pass: pass,
            at: now()
        )
        var counts: [Disposition: Int] = [:]
        for index in final.indices { counts[final[index].disposition, default: 0] += 1 }
        if let offset = clockOffset, let problem = Self.clockProblem(offset: offset, grace: configuration.policy.grace)
        {
            problems.all.append(problem)
        }
        // A held cluster is never silent: the pass says so (exit 4) with the first holder, every pass it lasts.
        if let held = final.indices.first(where: { final[$0].disposition == .unknown }) {
            problems.all.append(
                "\(counts[.unknown] ?? 0) cluster(s) held, first \(final[held].clusterID): \(final[held].reason)"
            )
        }
        let needsAttention: Set<Disposition> = [.wouldTerminate, .protected, .reportOnly, .deferred, .orphan]
        let outcome: PassOutcome =
            !problems.all.isEmpty
            ? .degraded
            : counts.keys.contains(where: { needsAttention.contains($0) }) ? .attention : .ok
        let summary = PassSummary(
            passID: pass,
            outcome: outcome,
            dispositions: counts,
            terminated: terminated,
            problems: problems.all,
            apiCalls: counter.snapshot,
            decisions: final
        )
        try ledger.journal.finishPass(
            pass,
            outcome: outcome,
            at: now(),
            counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            apiCalls: counter.snapshot,
            summary: summary.line,
            cpuSeconds: max(0, ProcessUsage.cpuSeconds() - cpuAtStart),
            rssBytes: ProcessUsage.residentBytes()
        )
        logger.info(
            "pass finished",
            metadata: ["pass": "\(pass)", "outcome": "\(outcome.rawValue)", "terminated": "\(terminated.count)"]
        )
        return summary
    }

    /// Reads the capacity of costed clusters that have none yet (before acting, so terminated ones keep their cost).
    func readMissingCapacity(_ decisions: [Decision], problems: inout Problems) async throws(LedgerError) {
        // A candidate that needs its re-check to decide may be terminated this pass: its cost is read now too.
        let costedIndices = decisions.indices.filter {
            Self.costedDispositions.contains(decisions[$0].disposition) || decisions[$0].needsRecheck
        }
        guard !costedIndices.isEmpty else { return }
        let costed = costedIndices.map { decisions[$0].clusterID }
        let known = try ledger.clusters.withCapacity(among: costed)
        let types = try ledger.clusters.collectionTypes(of: costed)
        for index in costedIndices where !known.contains(decisions[index].clusterID) {
            let clusterID = decisions[index].clusterID
            guard let region = regions.first(where: { $0.region == decisions[index].scope.region }) else { continue }
            try await readCapacity(clusterID, region: region, collectionType: types[clusterID], problems: &problems)
        }
    }

    /// Any error from a block that mixes AWS and ledger calls, as an AWS error (ledger errors are rethrown first).
    static func awsError(_ error: any Error) -> AWSError {
        (error as? AWSError) ?? AWSError(kind: .transport, service: "aws", operation: "call", message: "\(error)")
    }

    func decide(
        passStart: Timestamp,
        problems: Problems,
        observed: Set<String>,
        configuration: ReconcileConfiguration? = nil
    ) throws(LedgerError) -> [Decision] {
        let facts = try ledger.decisions.policyFacts(passStart: passStart, observed: observed)
        let uncertain = try uncertainReferenceScopes()
        var degraded = problems.degradedScopes
        for cluster in facts where problems.degradedRegions.contains(cluster.scope.region) {
            degraded.insert(cluster.scope)
        }
        let policy = (configuration ?? self.configuration).policy
        // Grace is measured on AWS's clock (the stop dates are AWS's): the host's, corrected by what AWS's answers
        // showed. A host clock too far off stops every action.
        let offset = clockOffset
        let time = now().adding(offset ?? .zero)
        return ReconcilePolicy.decide(
            PolicyInput(
                clusters: facts,
                degradedScopes: degraded,
                uncertainReferenceScopes: uncertain,
                refusals: try refusals(now: time),
                busy: problems.busy,
                unitReferences: try ledger.clusters.runningUnitReferences(),
                clusterUnits: problems.clusterUnits,
                actionsStopped: offset.flatMap { Self.clockProblem(offset: $0, grace: policy.grace) },
                now: time
            ),
            configuration: policy
        )
    }

    /// AWS's clock minus this host's, as AWS's answers showed it this process (nil before any answer).
    var clockOffset: Duration? { regions.first?.sfn.observedClockOffset }

    /// Why actions must stop when the host's clock is further from AWS's than a minute or half the grace
    /// (whichever is larger): grace periods and stop dates could no longer be compared; `nil` otherwise.
    static func clockProblem(offset: Duration, grace: Duration) -> String? {
        let limit = max(.seconds(60), grace / 2)
        guard offset > limit || offset < .zero - limit else { return nil }
        let ahead = offset < .zero
        let size = DurationText.format(ahead ? .zero - offset : offset)
        return
            "this host's clock is \(size) \(ahead ? "ahead of" : "behind") AWS's (the Date of its answers), more than "
            + "the \(DurationText.format(limit)) allowed: no cluster is acted on until the clock is corrected "
            + "(enable time synchronisation: systemd-timesyncd or chrony)"
    }

    /// Scopes where a RUNNING execution has a history CostGuard could not fully read or understand, with the
    /// holder and why. Any followed execution counts: one of a state machine with no EMR task is followed because
    /// it may have been handed a cluster id.
    func uncertainReferenceScopes() throws(LedgerError) -> [Scope: String] {
        let incomplete = try ledger.histories.incompleteRunning()
        guard !incomplete.isEmpty else { return [:] }
        let machines = try ledger.stateMachines.all()
        var scopes: [Scope: String] = [:]
        for (arn, holder) in incomplete.sorted(by: { $0.key < $1.key }) {
            guard let machine = machines[arn] else { continue }
            let scope = Scope(account: machine.account, region: machine.region)
            if scopes[scope] == nil { scopes[scope] = holder }
        }
        return scopes
    }

    /// Terminations AWS refused (answered with a client error other than throttling or a credentials problem),
    /// with the backoff before the next try.
    func refusals(now: Timestamp) throws(LedgerError) -> [String: Refusal] {
        let failures = try ledger.journal.terminateFailures(
            since: now.adding(.zero - Refusal.backoff(afterRefusals: 64))
        )
        var result: [String: Refusal] = [:]
        for (cluster, rows) in failures {
            let refused = rows.prefix { AWSError.isRefusal(code: $0.errorCode) }
            guard let last = refused.first, let at = Timestamp(iso8601: last.at) else { continue }
            result[cluster] = Refusal(
                code: last.errorCode ?? "?",
                message: last.errorMessage ?? "",
                count: refused.count,
                at: at,
                retryAt: at.adding(Refusal.backoff(afterRefusals: refused.count))
            )
        }
        return result
    }
}

/// What went wrong this pass, and which scopes it makes uncertain.
struct Problems {
    var all: [String] = []
    /// Problems that leave only a report figure unknown (a cost), not a decision: they do not degrade the pass.
    var warnings: [String] = []
    var degradedScopes: Set<Scope> = []
    /// Regions whose discovery failed: every scope in them is degraded.
    var degradedRegions: Set<String> = []
    /// Clusters whose re-check failed: never acted on this pass.
    var uncheckedClusters: Set<String> = []
    /// Clusters whose termination AWS refused this pass, with AWS's code and message.
    var refused: [String: String] = [:]
    /// Clusters the re-check found running a step no followed workflow gave them, with the step.
    var busy: [String: String] = [:]
    /// The instance group and fleet ids of clusters the re-check read (a RUNNING execution names groups only).
    var clusterUnits: [String: Set<String>] = [:]

    /// How far a failure's uncertainty reaches.
    enum Reach {
        /// Every cluster in the region (the region's listings failed).
        case region
        /// Every cluster of the account in the region (a state machine's executions are unknown).
        case scope(account: String)
        /// Only what the failed call was about (already recorded as unknown where it matters).
        case local
    }

    mutating func add(_ problem: String, region: String, reach: Reach) {
        all.append(problem)
        switch reach {
        case .region: degradedRegions.insert(region)
        case .scope(let account): degradedScopes.insert(Scope(account: account, region: region))
        case .local: break
        }
    }
}

extension Decision {
    /// The policy could not finish without a fact the re-check reads (protection, an auto-termination policy).
    var needsRecheck: Bool { pending != nil }

    /// To be re-checked before acting: it has an action, or needs the re-check's reads to decide.
    var isCandidate: Bool { action != nil || needsRecheck }
}
