import AWSClients
import CostGuardCore
import CostGuardLedger

extension Reconciler {
    /// Re-reads, right before acting, the creating execution (still ended, same redrive count) and the cluster
    /// (state, protection, tags, and its auto-termination policy when it may be left to end itself) of every
    /// candidate; the policy then decides again on these fresh facts.
    ///
    /// - Returns: the clusters whose re-check completed.
    func recheck(_ candidates: [Decision], problems: inout Problems) async throws(LedgerError) -> Set<String> {
        var done: Set<String> = []
        let clusterRows = Dictionary(
            try ledger.decisions.policyFacts(passStart: Timestamp(millisecondsSinceEpoch: 0)).map { ($0.id, $0) }
        ) { first, _ in first }
        let executions = try ledger.executions.rows(
            arns: candidates.compactMap { clusterRows[$0.clusterID]?.creator.arn }
        )
        // Scopes where a RUNNING execution names instance groups without their cluster: each candidate's are read.
        let unitScopes = Set(try ledger.clusters.runningUnitReferences().keys)
        for decision in candidates {
            guard let region = regions.first(where: { $0.region == decision.scope.region }),
                let facts = clusterRows[decision.clusterID]
            else { continue }
            let before = executions[facts.creator.arn]?.record
            do {
                do {
                    let fresh = Self.record(try await region.sfn.describeExecution(facts.creator.arn))
                    try ledger.executions.record([fresh], at: now())
                    if let before, let count = fresh.redriveCount, count > before.redriveCount ?? 0 {
                        // What the redrive did (a new cluster) is read with the history on the next pass.
                        logger.info("execution was redriven since it was read", metadata: ["execution": "\(fresh.arn)"])
                        try ledger.histories.reopen([fresh.arn])
                    }
                } catch let error as AWSError
                    where error.code == "ExecutionDoesNotExist" && before?.source == Ledger.goneWithStateMachineSource
                {
                    // Gone with its deleted state machine, as recorded: still gone.
                }
                let cluster = try await region.emr.describeCluster(decision.clusterID)
                try ledger.clusters.recordObservations([observationWithTags(cluster)], at: now())
                problems.clusterUnits[decision.clusterID] = nil
                if decision.pending == .instanceGroups || unitScopes.contains(decision.scope) {
                    let units = try await readCapacity(
                        decision.clusterID,
                        region: region,
                        collectionType: cluster.instanceCollectionType,
                        problems: &problems
                    )
                    guard let units else {
                        throw AWSError(
                            kind: .transport,
                            service: "emr",
                            operation: "ListInstanceGroups",
                            message: "the instance groups of \(decision.clusterID) could not be read"
                        )
                    }
                    problems.clusterUnits[decision.clusterID] = units
                }
                if mayEndItself(decision, creator: facts.creator) {
                    let timeout = try await region.emr.autoTerminationPolicy(decision.clusterID)
                    try ledger.clusters.recordAutoTerminationPolicy(
                        of: decision.clusterID,
                        idleTimeoutSeconds: timeout,
                        at: now()
                    )
                }
                problems.busy[decision.clusterID] = nil
                // A step runs only while the cluster is RUNNING (WAITING: none pending or running).
                if cluster.status.state == "RUNNING",
                    let step = try await foreignStep(of: decision.clusterID, region: region)
                {
                    problems.busy[decision.clusterID] = step
                }
                done.insert(decision.clusterID)
            } catch let error as LedgerError {
                throw error
            } catch let caught {
                let error = Reconciler.awsError(caught)
                problems.add(
                    "re-check of \(decision.clusterID): \(error)",
                    region: decision.scope.region,
                    reach: .local
                )
            }
        }
        return done
    }

    /// Whether the policy may leave the cluster to end itself (its creator FAILED or TIMED_OUT and the
    /// self-termination wait has not passed), so its auto-termination policy is read in the re-check.
    func mayEndItself(_ decision: Decision, creator: ExecutionFacts) -> Bool {
        let wait = configuration.policy.selfTerminationWait
        guard wait > .zero, creator.status == .failed || creator.status == .timedOut else { return false }
        return decision.orphanedSince.map { now().since($0) < wait } ?? true
    }

    /// The first pending or running step of a cluster that no followed workflow gave it (not among the steps of
    /// its create task or of the addStep tasks CostGuard read), described for the reason; `nil` when there is none.
    func foreignStep(of clusterID: String, region: RegionClients) async throws -> String? {
        let known = try ledger.stateMachines.workflowSteps(of: [clusterID])[clusterID] ?? ([], [])
        for try await page in region.emr.listSteps(clusterID, states: ["PENDING", "RUNNING", "CANCEL_PENDING"]) {
            for step in page.steps where !known.ids.contains(step.id) && !(step.name.map(known.names.contains) ?? false)
            {
                return "step \(step.id) (\(step.name ?? "unnamed")) is \(step.status.state)"
            }
        }
        return nil
    }

    /// The journal records of the decisions the journal keeps (`would-terminate`, `deferred`, `protected`), by
    /// cluster; the ledger appends one when the cluster's disposition changes.
    func journalRecords(_ decisions: [Decision]) -> [String: JournalRecord] {
        var records: [String: JournalRecord] = [:]
        for index in decisions.indices {
            guard let action = JournalAction(decision: decisions[index].disposition) else { continue }
            records[decisions[index].clusterID] = record(decisions[index], action: action)
        }
        return records
    }

    /// Carries out the decisions, chunk by chunk (at most `EMRClient.terminateBatchLimit` clusters, in id order, per
    /// region): each chunk's candidates are re-checked (DescribeExecution, DescribeCluster, ListSteps when RUNNING)
    /// and decided again right before its TerminateJobFlows, so that nothing slow stands between the facts and the
    /// call; the per-pass cap counts what earlier chunks terminated. Every intent is journaled (committed) before its
    /// call and every outcome after it.
    ///
    /// - Returns: the clusters terminated, and the candidates' decisions after their re-check.
    func act(
        on decisions: [Decision],
        pass: PassID,
        passStart: Timestamp,
        observed: Set<String>,
        problems: inout Problems
    ) async throws(LedgerError) -> (terminated: [String], redecided: [String: Decision]) {
        var terminated: [String] = []
        var redecided: [String: Decision] = [:]
        for region in regions {
            let candidates = decisions.elements(whereIndex: {
                decisions[$0].isCandidate && decisions[$0].scope.region == region.region
            }).sorted { $0.clusterID < $1.clusterID }
            for start in stride(from: 0, to: candidates.count, by: EMRClient.terminateBatchLimit) {
                let chunk = candidates[start..<min(start + EMRClient.terminateBatchLimit, candidates.count)]
                let rechecked = try await recheck(Array(chunk), problems: &problems)
                var budget = configuration
                budget.policy.maxTerminationsPerPass = max(
                    0,
                    configuration.policy.maxTerminationsPerPass - terminated.count
                )
                let fresh = try decide(
                    passStart: passStart,
                    problems: problems,
                    observed: observed,
                    configuration: budget
                )
                let byID = Dictionary(fresh.map { ($0.clusterID, $0) }, uniquingKeysWith: { first, _ in first })
                var ready: [Decision] = []
                for candidate in chunk {
                    guard var decision = byID[candidate.clusterID] else { continue }
                    if decision.action != nil && !rechecked.contains(decision.clusterID) {
                        // Act only on what was re-read right now.
                        decision.disposition = .unknown
                        decision.reason =
                            "not acted on: the re-check before acting did not complete; " + decision.reason
                        decision.action = nil
                    }
                    redecided[decision.clusterID] = decision
                    if decision.action != nil { ready.append(decision) }
                }
                try await terminate(ready, region: region, pass: pass, problems: &problems, terminated: &terminated)
            }
        }
        return (terminated, redecided)
    }

    /// Removes protection where the policy allows it (one journaled call per cluster), then terminates the chunk;
    /// a chunk AWS refuses is tried one cluster at a time.
    func terminate(
        _ chunk: [Decision],
        region: RegionClients,
        pass: PassID,
        problems: inout Problems,
        terminated: inout [String]
    ) async throws(LedgerError) {
        var ready: [Decision] = []
        for decision in chunk {
            guard case .terminate(let unprotectFirst)? = decision.action else { continue }
            if unprotectFirst {
                let record = record(decision, action: .unprotect)
                let intent = try ledger.journal.intent(record, pass: pass, at: now())
                do {
                    let requestID = try await region.emr.setTerminationProtection(
                        [decision.clusterID],
                        protected: false
                    )
                    try ledger.journal.outcome(
                        intentSeq: intent,
                        record: record,
                        result: .succeeded,
                        requestID: requestID,
                        errorCode: nil,
                        errorMessage: nil,
                        pass: pass,
                        at: now()
                    )
                } catch let error as LedgerError {
                    throw error
                } catch let caught {
                    let error = Reconciler.awsError(caught)
                    try journalFailure(error, intent: intent, record: record, pass: pass)
                    problems.add(
                        "SetTerminationProtection \(decision.clusterID): \(error)",
                        region: region.region,
                        reach: .local
                    )
                    continue
                }
            }
            ready.append(decision)
        }
        guard !ready.isEmpty else { return }
        guard
            let refusal = try await terminateBatch(
                ready,
                region: region,
                pass: pass,
                problems: &problems,
                terminated: &terminated
            ),
            ready.count > 1
        else { return }
        // AWS refused the batch (one cluster's SCP or tag condition refuses all ten): each cluster is tried alone, so
        // that the refused one is set aside and the others proceed.
        logger.notice(
            "a batch termination was refused; trying each cluster alone",
            metadata: [
                "clusters": "\(ready.map(\.clusterID))", "error": "\(refusal)",
            ]
        )
        for decision in ready {
            _ = try await terminateBatch(
                [decision],
                region: region,
                pass: pass,
                problems: &problems,
                terminated: &terminated
            )
        }
    }

    /// Terminates one batch (at most `EMRClient.terminateBatchLimit` clusters): an intent per cluster (committed),
    /// one TerminateJobFlows, an outcome per cluster.
    ///
    /// - Returns: AWS's error when it refused the request (`AWSError.isRefusal`), else `nil`.
    func terminateBatch(
        _ chunk: [Decision],
        region: RegionClients,
        pass: PassID,
        problems: inout Problems,
        terminated: inout [String]
    ) async throws(LedgerError) -> AWSError? {
        var intents: [(Int64, JournalRecord, Decision)] = []
        for decision in chunk {
            let record = record(decision, action: .terminate)
            intents.append((try ledger.journal.intent(record, pass: pass, at: now()), record, decision))
        }
        do {
            let requestID = try await region.emr.terminateJobFlows(chunk.map(\.clusterID))
            // Each outcome and its cluster's new state in one transaction.
            try ledger.decisions.recordTermination(
                outcomes: intents.map { (intentSeq: $0.0, record: $0.1) },
                requestID: requestID,
                reasonPrefix: "terminated by CostGuard: ",
                notices: terminatedNotices(chunk, requestID: requestID),
                channels: configuration.notify,
                pass: pass,
                at: now()
            )
            terminated += chunk.map(\.clusterID)
            for decision in chunk {
                logger.notice(
                    "terminated cluster",
                    metadata: [
                        "cluster": "\(decision.clusterID)", "action": "terminate", "request_id": "\(requestID ?? "")",
                        "reason": "\(decision.reason)",
                    ]
                )
            }
            return nil
        } catch let error as LedgerError {
            throw error
        } catch let caught {
            let error = Reconciler.awsError(caught)
            for (intent, record, _) in intents {
                try journalFailure(error, intent: intent, record: record, pass: pass)
            }
            problems.add("TerminateJobFlows \(chunk.map(\.clusterID)): \(error)", region: region.region, reach: .local)
            if error.isRefusal && chunk.count == 1 {
                problems.refused[chunk[0].clusterID] = "\(error.code ?? "?"): \(error.message)"
            }
            return error.isRefusal ? error : nil
        }
    }

    /// Completes the journal after a crash between an intent and its outcome: the cluster is described, and the
    /// outcome says what is known. The action is never repeated here; this pass's policy decides afresh.
    func resolveOpenIntents(pass: PassID, problems: inout Problems) async throws(LedgerError) {
        for intent in try ledger.journal.openIntents() {
            guard let clusterID = intent.record.clusterID,
                let region = regions.first(where: { $0.region == intent.record.region })
            else { continue }
            do {
                let cluster = try await region.emr.describeCluster(clusterID)
                let state = ClusterState(rawValue: cluster.status.state) ?? .unknown
                let done =
                    intent.record.action == .terminate
                    ? (state == .terminating || state.hasEnded)
                    : intent.record.action == .unprotect ? cluster.terminationProtected == false : false
                if done && intent.record.action == .terminate {
                    // The outcome and the cluster's new state in one transaction.
                    try ledger.decisions.recordTermination(
                        outcomes: [(intentSeq: intent.seq, record: intent.record)],
                        requestID: nil,
                        message: "completed after a restart: the cluster was found \(state.rawValue)",
                        reasonPrefix: "terminated by CostGuard (completed after a restart): ",
                        notices: try restartNotices(intent.record, clusterID: clusterID),
                        channels: configuration.notify,
                        pass: pass,
                        at: now()
                    )
                } else {
                    try ledger.journal.outcome(
                        intentSeq: intent.seq,
                        record: intent.record,
                        result: done ? .succeeded : .unknown,
                        requestID: nil,
                        errorCode: nil,
                        errorMessage: done
                            ? "completed after a restart: the cluster was found \(state.rawValue)"
                            : "no evidence the call reached AWS (cluster \(state.rawValue)); this pass decides afresh",
                        pass: pass,
                        at: now()
                    )
                }
            } catch let error as LedgerError {
                throw error
            } catch let caught {
                let error = Reconciler.awsError(caught)
                problems.add("re-check of open intent \(intent.seq): \(error)", region: region.region, reach: .local)
            }
        }
    }

    func record(_ decision: Decision, action: JournalAction) -> JournalRecord {
        JournalRecord(
            action: action,
            clusterID: decision.clusterID,
            executionARN: nil,
            region: decision.scope.region,
            account: decision.scope.account,
            dryRun: configuration.policy.dryRun,
            reason: decision.reason
        )
    }

    /// Journals the outcome of a call AWS answered with an error, or did not answer (`unknown`).
    func journalFailure(_ error: AWSError, intent: Int64, record: JournalRecord, pass: PassID) throws(LedgerError) {
        try ledger.journal.outcome(
            intentSeq: intent,
            record: record,
            result: Self.result(error),
            requestID: error.requestID,
            errorCode: error.code,
            errorMessage: error.message,
            pass: pass,
            at: now()
        )
    }

    static func result(_ error: AWSError) -> CallResult {
        // No answer at all: the call may or may not have been applied.
        error.kind == .transport ? .unknown : .failed
    }
}
