/// Who is an orphan, and what to do: a pure function of the facts, the configuration and the time.
///
/// Checks, in order (the first that applies decides):
/// 1. the cluster has ended or is terminating → `ended`; created in another account than its creator's (a task's
///    `Credentials.RoleArn`) → `unknown` (not observable); its state is unknown or stale → `unknown`;
/// 2. exempt by tag or state machine pattern → `exempt`;
/// 3. its creating execution is RUNNING (or pending a redrive) → `live`;
/// 4. the creator's history is incomplete → `unknown`;
/// 5. a RUNNING execution references it → `shared`; it runs a step no followed workflow gave it (busy) → `shared`;
///    a RUNNING reference may be unreadable in its scope → `unknown`;
/// 6. the creator ended with a status configured `report` → `report-only`;
/// 7. within the grace period (or the redrive grace while redrivable) → `grace`;
/// 8. its scope's reads were incomplete this pass → `unknown`;
/// 9. its creator FAILED or TIMED_OUT and the cluster will end itself (AutoTerminate with steps left, or an
///    auto-termination policy shorter than the self-termination wait) within the wait → `self-terminating`; its
///    policy not read yet → `unknown`, pending the re-check's GetAutoTerminationPolicy;
/// 10. a RUNNING execution in its scope names an instance group or fleet without its cluster: the cluster owns one
///    → `shared`; its groups not read this pass → `unknown`, pending the re-check's ListInstanceGroups;
/// 11. termination-protected without the `unprotect` opt-in → `protected`; protection unknown → `unknown`; AWS
///    refused its termination and the backoff has not passed → `unknown` (set aside);
/// 12. dry run → `would-terminate`; over the per-pass cap → `deferred`; else `orphan` with a terminate action.
public enum ReconcilePolicy {
    public static func decide(_ input: PolicyInput, configuration: PolicyConfiguration) -> [Decision] {
        var terminations = 0
        // The facts are read in place, in id order (sorting the facts themselves would copy every one).
        let clusters = input.clusters
        return clusters.indices.sorted { clusters[$0].id < clusters[$1].id }.map { index in
            var decision = decideOne(clusters[index], input: input, configuration: configuration)
            if decision.action != nil, let stopped = input.actionsStopped {
                decision.disposition = .unknown
                decision.reason = "held: " + stopped + "; " + decision.reason
                decision.action = nil
            }
            if decision.action != nil {
                if configuration.dryRun {
                    decision.disposition = .wouldTerminate
                    decision.reason = "dry run: " + decision.reason
                    decision.action = nil
                } else if terminations >= configuration.maxTerminationsPerPass {
                    decision.disposition = .deferred
                    decision.reason =
                        "deferred: the cap of \(configuration.maxTerminationsPerPass) terminations per pass "
                        + "was reached; " + decision.reason
                    decision.action = nil
                } else {
                    terminations += 1
                }
            }
            return decision
        }
    }

    static func decideOne(_ cluster: ClusterFacts, input: PolicyInput, configuration: PolicyConfiguration) -> Decision {
        func verdict(
            _ disposition: Disposition,
            _ reason: String,
            since: Timestamp? = nil,
            action: Decision.Action? = nil,
            pending: Decision.Pending? = nil,
            actAfter: Timestamp? = nil
        ) -> Decision {
            Decision(
                clusterID: cluster.id,
                scope: cluster.scope,
                disposition: disposition,
                reason: reason,
                action: action,
                pending: pending,
                orphanedSince: since,
                actAfter: actAfter
            )
        }
        let creator = cluster.creator
        if cluster.state.hasEnded || cluster.state == .terminating {
            return verdict(.ended, "the cluster is \(cluster.state.rawValue)")
        }
        let home = ExecutionARN.account(of: creator.arn)
        if !home.isEmpty, cluster.scope.account != home {
            return verdict(
                .unknown,
                "created in account \(cluster.scope.account) (a task with another account's role), which CostGuard "
                    + "does not observe from account \(home): not observable, never acted on"
            )
        }
        guard cluster.observedThisPass, cluster.state != .unknown else {
            return verdict(.unknown, "the cluster's state was not observed this pass")
        }
        if let tags = cluster.tags,
            let tag = configuration.exemptTags.first(where: { tag in
                tags[tag.key].map { value in tag.value == nil || tag.value == value } ?? false
            })
        {
            return verdict(.exempt, "exempt by tag \(tag.key)\(tag.value.map { "=\($0)" } ?? "")")
        }
        // The state machine, or the version or alias the execution was started on (`…:stateMachine:etl:prod`).
        if let pattern = configuration.exemptStateMachines.first(where: { pattern in
            glob(pattern, matches: creator.stateMachineARN)
                || creator.qualifiedStateMachineARNs.contains { glob(pattern, matches: $0) }
        }) {
            return verdict(.exempt, "exempt: state machine matches \(pattern)")
        }
        if !creator.status.hasEnded {
            // The reason most clusters get every pass: built in one allocation (see `String(concatenating:)`).
            return verdict(.live, String(concatenating: "its execution ", creator.arn, " is ", creator.status.rawValue))
        }
        if !creator.historyComplete {
            return verdict(.unknown, "the history of \(creator.arn) is incomplete")
        }
        if let running = cluster.referencedBy.first(where: { !$0.status.hasEnded }) {
            return verdict(
                .shared,
                String(concatenating: "execution ", running.arn, " (", running.status.rawValue, ") uses it")
            )
        }
        if let step = input.busy[cluster.id] {
            return verdict(
                .shared,
                "busy: \(step), which no workflow CostGuard follows gave it: someone else is using it"
            )
        }
        if let holder = input.uncertainReferenceScopes[cluster.scope] {
            return verdict(
                .unknown,
                "held: a running execution in \(cluster.scope) may use any cluster there: \(holder)"
            )
        }
        guard let stopped = creator.stopDate else {
            return verdict(.unknown, "execution \(creator.arn) is \(creator.status.rawValue) with no stop date")
        }
        let lastUse = cluster.referencedBy.compactMap(\.stopDate).max().map { max($0, stopped) } ?? stopped
        let action = configuration.actions[creator.status] ?? .report
        let ended =
            creator.goneWithStateMachine
            ? "execution \(creator.arn) no longer exists: its state machine was deleted (found gone at \(stopped))"
            : "execution \(creator.arn) \(creator.status.rawValue) at \(stopped)"
        if action == .report {
            return verdict(
                .reportOnly,
                "\(ended); \(creator.status.rawValue) is configured report-only",
                since: lastUse
            )
        }
        let idle = input.now.since(lastUse)
        if idle < configuration.grace {
            return verdict(
                .grace,
                "\(ended); within the \(DurationText.format(configuration.grace)) grace period",
                since: lastUse,
                actAfter: lastUse.adding(configuration.grace)
            )
        }
        if creator.redriveStatus == .redrivable && idle < configuration.redriveGrace {
            return verdict(
                .grace,
                "\(ended) and can be redriven; within the \(DurationText.format(configuration.redriveGrace)) redrive grace",
                since: lastUse,
                actAfter: lastUse.adding(configuration.redriveGrace)
            )
        }
        if input.degradedScopes.contains(cluster.scope) {
            return verdict(
                .unknown,
                "\(ended); but AWS reads in \(cluster.scope) were incomplete this pass",
                since: lastUse
            )
        }
        // A cluster that will end itself after a failed or timed-out workflow is left to (not killed mid-step), for
        // a bounded wait; an ABORTED creator was stopped on purpose.
        var overdue = ""
        let wait = configuration.selfTerminationWait
        if wait > .zero, creator.status == .failed || creator.status == .timedOut {
            if let how = selfTermination(of: cluster, wait: wait) {
                if idle < wait {
                    return verdict(
                        .selfTerminating,
                        "\(ended); \(how): left to end itself until \(lastUse.adding(wait)) (self-termination wait "
                            + "\(DurationText.format(wait)))",
                        since: lastUse
                    )
                }
                overdue =
                    "; it did not end itself within the \(DurationText.format(wait)) self-termination wait (\(how))"
            } else if idle < wait, cluster.autoTerminationPolicy == .unread {
                return verdict(
                    .unknown,
                    "\(ended); whether an auto-termination policy ends it is not known yet",
                    since: lastUse,
                    pending: .autoTerminationPolicy
                )
            }
        }
        // A RUNNING execution in this scope acts on an instance group or fleet without naming its cluster: this
        // cluster is kept if it owns one, and decided only once its groups were read this pass.
        if let units = input.unitReferences[cluster.scope], let first = units.first {
            guard let owned = input.clusterUnits[cluster.id] else {
                return verdict(
                    .unknown,
                    "\(ended); execution \(first.executionARN) (RUNNING) acts on instance group \(first.unitID) without "
                        + "naming its cluster: this cluster's groups are read before acting",
                    since: lastUse,
                    pending: .instanceGroups
                )
            }
            if let user = units.first(where: { owned.contains($0.unitID) }) {
                return verdict(
                    .shared,
                    "execution \(user.executionARN) (RUNNING) uses it: \(user.resource) names its instance group "
                        + user.unitID
                )
            }
        }
        switch cluster.terminationProtected {
        case nil:
            return verdict(
                .unknown,
                "\(ended); its termination protection is not known yet",
                since: lastUse,
                pending: .clusterDescription
            )
        case true? where !configuration.unprotect:
            return verdict(.protected, "\(ended); termination-protected (set unprotect = true to act)", since: lastUse)
        default:
            break
        }
        if let refusal = input.refusals[cluster.id], input.now < refusal.retryAt {
            return verdict(
                .unknown,
                "\(ended); set aside: AWS refused to terminate it \(refusal.count) time(s), last at \(refusal.at) "
                    + "(\(refusal.code): \(refusal.message)); next try after \(refusal.retryAt)",
                since: lastUse
            )
        }
        let refs = cluster.referencedBy.isEmpty ? "no other execution uses it" : "no running execution uses it"
        return verdict(
            .orphan,
            "\(ended), \(refs), idle \(DurationText.format(idle)) (grace \(DurationText.format(configuration.grace)))"
                + overdue,
            since: lastUse,
            action: .terminate(unprotectFirst: cluster.terminationProtected == true)
        )
    }

    /// How a cluster will end itself within `wait`, in words, or `nil` when it will not: created with AutoTerminate
    /// and not yet past its steps (EMR ends it after the last one), or an auto-termination policy whose idle timeout
    /// is shorter than the wait.
    static func selfTermination(of cluster: ClusterFacts, wait: Duration) -> String? {
        if cluster.autoTerminate == true, [.starting, .bootstrapping, .running].contains(cluster.state) {
            return "AutoTerminate: EMR ends it when its steps finish (it is \(cluster.state.rawValue))"
        }
        if case .idleTimeout(let timeout) = cluster.autoTerminationPolicy, timeout < wait {
            return "its auto-termination policy ends it after \(DurationText.format(timeout)) idle"
        }
        return nil
    }

    /// `*` matches any run of characters; everything else matches itself.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        guard text.hasPrefix(parts[0]) else { return false }
        var rest = Substring(text.dropFirst(parts[0].count))
        for part in parts.dropFirst().dropLast() {
            guard let range = rest.firstRange(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}
