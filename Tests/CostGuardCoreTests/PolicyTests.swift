import CostGuardCore
import CostGuardTestKit
import Testing

@Suite("Reconcile policy")
struct PolicyTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)
    static let scope = Scope(account: "123456789012", region: "us-east-1")

    func execution(
        _ name: String,
        _ status: ExecutionStatus,
        endedMinutesAgo: Int? = 60,
        redrive: RedriveStatus? = nil,
        complete: Bool = true
    ) -> ExecutionFacts {
        ExecutionFacts(
            arn: "arn:aws:states:us-east-1:123456789012:execution:sm:\(name)",
            stateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            status: status,
            stopDate: status.hasEnded ? endedMinutesAgo.map { Self.now.adding(.seconds(-60 * $0)) } : nil,
            redriveStatus: redrive,
            historyComplete: complete
        )
    }

    func cluster(
        _ id: String,
        _ creator: ExecutionFacts,
        state: ClusterState = .waiting,
        protected: Bool? = false,
        tags: [String: String]? = [:],
        references: [ExecutionFacts] = [],
        observed: Bool = true,
        autoTerminate: Bool? = false,
        autoTermination: AutoTerminationPolicy = .none
    ) -> ClusterFacts {
        ClusterFacts(
            id: id,
            scope: Self.scope,
            state: state,
            observedThisPass: observed,
            terminationProtected: protected,
            tags: tags,
            autoTerminate: autoTerminate,
            autoTerminationPolicy: autoTermination,
            creator: creator,
            referencedBy: references
        )
    }

    func decide(
        _ clusters: [ClusterFacts],
        _ configure: (inout PolicyConfiguration) -> Void = { _ in },
        degraded: Set<Scope> = [],
        uncertain: Set<Scope> = [],
        refusals: [String: Refusal] = [:],
        at now: Timestamp = Self.now
    ) -> [String: Decision] {
        var configuration = PolicyConfiguration()
        configure(&configuration)
        let decisions = ReconcilePolicy.decide(
            PolicyInput(
                clusters: clusters,
                degradedScopes: degraded,
                uncertainReferenceScopes: Dictionary(
                    uniqueKeysWithValues: uncertain.map { ($0, "execution X: test holder") }
                ),
                refusals: refusals,
                now: now
            ),
            configuration: configuration
        )
        return Dictionary(uniqueKeysWithValues: decisions.map { ($0.clusterID, $0) })
    }

    @Test("a cluster that ends itself after a failed or timed-out creator is left to, for the wait and no longer")
    func selfTerminating() {
        let thirty = AutoTerminationPolicy.idleTimeout(.seconds(1800))
        let d = decide([
            // AutoTerminate with a step running: EMR ends it after the step.
            cluster("j-STEP", execution("f", .failed), state: .running, autoTerminate: true),
            cluster("j-STEPTIMEDOUT", execution("t", .timedOut), state: .running, autoTerminate: true),
            // AutoTerminate but WAITING: EMR should have ended it already; nothing to wait for.
            cluster("j-AUTOWAITING", execution("fw", .failed), state: .waiting, autoTerminate: true),
            // An idle timeout shorter than the wait (2 h), and one longer (7 days).
            cluster("j-IDLE", execution("fi", .failed), autoTermination: thirty),
            cluster("j-IDLELONG", execution("fl", .failed), autoTermination: .idleTimeout(.seconds(604_800))),
            // Stopped on purpose, succeeded and configured terminate: never waited for.
            cluster("j-ABORTED", execution("a", .aborted), state: .running, autoTerminate: true),
            // Its policy was never read: the re-check must read it first.
            cluster("j-UNREAD", execution("fu", .failed), autoTermination: .unread),
            cluster("j-UNREADABORTED", execution("au", .aborted), autoTermination: .unread),
        ])
        #expect(d["j-STEP"]?.disposition == .selfTerminating)
        #expect(d["j-STEP"]?.action == nil)
        #expect(d["j-STEP"]?.reason.contains("AutoTerminate") == true)
        #expect(d["j-STEPTIMEDOUT"]?.disposition == .selfTerminating)
        #expect(d["j-AUTOWAITING"]?.disposition == .orphan)
        #expect(d["j-IDLE"]?.disposition == .selfTerminating)
        #expect(d["j-IDLE"]?.reason.contains("after 30m idle") == true, "\(d["j-IDLE"]?.reason ?? "")")
        #expect(d["j-IDLELONG"]?.disposition == .orphan)
        #expect(d["j-ABORTED"]?.disposition == .orphan)
        #expect(d["j-UNREAD"]?.disposition == .unknown)
        #expect(d["j-UNREAD"]?.pending == .autoTerminationPolicy)
        #expect(d["j-UNREADABORTED"]?.disposition == .orphan)
        #expect(d["j-UNREADABORTED"]?.pending == nil)
        // Protection unknown: the pending read is typed, whatever the reason's words.
        let unknown = decide([cluster("j-P", execution("p", .aborted), protected: nil)])
        #expect(unknown["j-P"]?.pending == .clusterDescription)
        // When the wait is over (the creator ended 3 h ago) it is an orphan, and the reason says it did not end itself.
        let late = decide([
            cluster("j-STEP", execution("f", .failed, endedMinutesAgo: 180), state: .running, autoTerminate: true),
            cluster("j-UNREAD", execution("fu", .failed, endedMinutesAgo: 180), autoTermination: .unread),
        ])
        #expect(late["j-STEP"]?.disposition == .orphan)
        #expect(late["j-STEP"]?.reason.contains("did not end itself within the 2h self-termination wait") == true)
        #expect(late["j-UNREAD"]?.disposition == .orphan, "past the wait the policy does not matter")
        // A wait of zero turns it off; a longer wait holds a longer idle timeout.
        #expect(
            decide([cluster("j-IDLE", execution("fi", .failed), autoTermination: thirty)]) {
                $0.selfTerminationWait = .zero
            }["j-IDLE"]?.disposition == .orphan
        )
        let longer = decide([
            cluster("j-IDLELONG", execution("fl", .failed), autoTermination: .idleTimeout(.seconds(604_800)))
        ]) {
            $0.selfTerminationWait = .seconds(8 * 86_400)
        }
        #expect(longer["j-IDLELONG"]?.disposition == .selfTerminating)
        // The grace comes first; the refusal backoff and protection after.
        #expect(
            decide([cluster("j-G", execution("g", .failed, endedMinutesAgo: 5), state: .running, autoTerminate: true)])[
                "j-G"
            ]?.disposition == .grace
        )
        #expect(Disposition(rawValue: "self-terminating") == .selfTerminating)
    }

    @Test("instance groups named by a RUNNING execution without their cluster: read before acting, the owner kept")
    func instanceGroupReferences() {
        let clusters = [
            cluster("j-OWNER", execution("o", .aborted)), cluster("j-OTHER", execution("x", .aborted)),
            cluster("j-GRACE", execution("g", .aborted, endedMinutesAgo: 5)),
        ]
        var other = Self.scope
        other.region = "eu-west-1"
        let user = UnitReference(
            unitID: "ig-42",
            executionARN: "arn:aws:states:us-east-1:123456789012:execution:resize:r1",
            resource: "aws-sdk:emr:modifyInstanceGroups"
        )
        func run(_ units: [String: Set<String>], scope: Scope = Self.scope) -> [String: Decision] {
            let decisions = ReconcilePolicy.decide(
                PolicyInput(clusters: clusters, unitReferences: [scope: [user]], clusterUnits: units, now: Self.now),
                configuration: PolicyConfiguration()
            )
            return Dictionary(uniqueKeysWithValues: decisions.map { ($0.clusterID, $0) })
        }
        // Before the groups are read: every would-be orphan in the scope waits for the read; grace is unaffected.
        let unread = run([:])
        #expect(unread["j-OWNER"]?.disposition == .unknown && unread["j-OWNER"]?.pending == .instanceGroups)
        #expect(unread["j-OTHER"]?.pending == .instanceGroups)
        #expect(unread["j-OWNER"]?.reason.contains("ig-42") == true)
        #expect(unread["j-GRACE"]?.disposition == .grace)
        // Read: the owner is kept, the other is an orphan.
        let read = run(["j-OWNER": ["ig-1", "ig-42"], "j-OTHER": ["ig-7"]])
        #expect(read["j-OWNER"]?.disposition == .shared)
        #expect(read["j-OWNER"]?.reason.contains("resize:r1") == true)
        #expect(read["j-OTHER"]?.disposition == .orphan)
        // An execution in another region holds nothing here.
        #expect(run([:], scope: other)["j-OWNER"]?.disposition == .orphan)
    }

    @Test("dispositions hash by case: equal ones alike, all twelve distinct in a set and as dictionary keys")
    func dispositionHashing() {
        let all = Disposition.allCases
        #expect(Set(all).count == all.count)
        var counts: [Disposition: Int] = [:]
        for (index, disposition) in (all + all.reversed()).enumerated() { counts[disposition, default: 0] += index }
        for disposition in all {
            #expect(counts[disposition] == all.count * 2 - 1, "\(disposition)")
            #expect(disposition.hashValue == Disposition(rawValue: disposition.rawValue)!.hashValue)
        }
    }

    @Test("a reason joined in one allocation reads as the interpolation it replaces")
    func concatenation() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:batch-étl:run-1"
        #expect(String(concatenating: "its execution ", arn, " is ", "RUNNING") == "its execution \(arn) is RUNNING")
        #expect(
            String(concatenating: "its execution ", arn, " is ", "RUNNING").utf8.count == 14 + arn.utf8.count + 4 + 7
        )
        #expect(String(concatenating: "a", "", "b") == "ab")
        #expect(String(concatenating: "", "") == "" && String(concatenating: "", "").isEmpty)
        #expect(String(concatenating: "straße ", "日本 ", "🇩🇪") == "straße 日本 🇩🇪")
        #expect(String(concatenating: "e", "\u{301}").count == 1, "a combining mark joins the character before it")
        let long = String(repeating: "x", count: 100)
        #expect(String(concatenating: String(long.dropFirst(50)), "y") == String(repeating: "x", count: 50) + "y")
        // The reasons built this way.
        let user = execution("user", .running)
        let d = decide([
            cluster("j-LIVE", execution("r", .running)),
            cluster("j-SHARED", execution("a", .aborted), references: [user]),
        ])
        #expect(d["j-LIVE"]?.reason == "its execution arn:aws:states:us-east-1:123456789012:execution:sm:r is RUNNING")
        #expect(d["j-SHARED"]?.reason == "execution \(user.arn) (RUNNING) uses it")
    }

    @Test("each rule gives its disposition")
    func dispositions() {
        let d = decide([
            cluster("j-ABORTED", execution("a", .aborted)),
            cluster("j-FAILED", execution("f", .failed)),
            cluster("j-TIMEDOUT", execution("t", .timedOut)),
            cluster("j-SUCCEEDED", execution("s", .succeeded)),
            cluster("j-RUNNING", execution("r", .running)),
            cluster("j-ENDED", execution("e", .aborted), state: .terminated),
            cluster("j-STALE", execution("x", .aborted), observed: false),
            cluster("j-EXEMPT", execution("x2", .aborted), tags: ["costguard:exempt": "true"]),
            cluster("j-NOTEXEMPT", execution("x3", .aborted), tags: ["costguard:exempt": "false"]),
            cluster("j-SHARED", execution("sh", .aborted), references: [execution("user", .running)]),
            cluster(
                "j-SHAREDENDED",
                execution("se", .aborted),
                references: [execution("user2", .failed, endedMinutesAgo: 5)]
            ),
            cluster("j-GRACE", execution("g", .aborted, endedMinutesAgo: 5)),
            cluster("j-REDRIVE", execution("rd", .failed, endedMinutesAgo: 30, redrive: .redrivable)),
            cluster("j-REDRIVEOLD", execution("ro", .failed, endedMinutesAgo: 90, redrive: .redrivable)),
            cluster("j-PROTECTED", execution("p", .aborted), protected: true),
            cluster("j-PROTUNKNOWN", execution("pu", .aborted), protected: nil),
            cluster("j-INCOMPLETE", execution("i", .aborted, complete: false)),
        ])
        #expect(d["j-ABORTED"]?.disposition == .orphan)
        #expect(d["j-ABORTED"]?.action == .terminate(unprotectFirst: false))
        #expect(d["j-FAILED"]?.disposition == .orphan)
        #expect(d["j-TIMEDOUT"]?.disposition == .orphan)
        #expect(d["j-SUCCEEDED"]?.disposition == .reportOnly)
        #expect(d["j-RUNNING"]?.disposition == .live)
        #expect(d["j-ENDED"]?.disposition == .ended)
        #expect(d["j-STALE"]?.disposition == .unknown)
        #expect(d["j-EXEMPT"]?.disposition == .exempt)
        #expect(d["j-NOTEXEMPT"]?.disposition == .orphan)
        #expect(d["j-SHARED"]?.disposition == .shared)
        #expect(d["j-SHAREDENDED"]?.disposition == .grace, "the grace runs from the last reference's end")
        #expect(d["j-GRACE"]?.disposition == .grace)
        #expect(d["j-REDRIVE"]?.disposition == .grace)
        #expect(d["j-REDRIVEOLD"]?.disposition == .orphan)
        #expect(d["j-PROTECTED"]?.disposition == .protected)
        #expect(d["j-PROTUNKNOWN"]?.disposition == .unknown)
        #expect(d["j-INCOMPLETE"]?.disposition == .unknown)
        #expect(d.values.filter { $0.action != nil }.count == 5)
    }

    @Test("unprotect opt-in, dry run, the cap, degraded and uncertain scopes, state machine exemptions")
    func switches() {
        let orphans = (0..<15).map { cluster("j-\($0 + 10)", execution("o\($0)", .aborted)) }
        let capped = decide(orphans)
        #expect(capped.values.filter { $0.disposition == .orphan }.count == 10)
        #expect(capped.values.filter { $0.disposition == .deferred }.count == 5)
        let dry = decide(orphans) { $0.dryRun = true }
        #expect(dry.values.allSatisfy { $0.disposition == .wouldTerminate && $0.action == nil })
        let protected = decide([cluster("j-P", execution("p", .aborted), protected: true)]) { $0.unprotect = true }
        #expect(protected["j-P"]?.action == .terminate(unprotectFirst: true))
        #expect(decide(orphans, degraded: [Self.scope]).values.allSatisfy { $0.disposition == .unknown })
        #expect(decide(orphans, uncertain: [Self.scope]).values.allSatisfy { $0.disposition == .unknown })
        let exempt = decide(orphans) { $0.exemptStateMachines = ["arn:aws:states:*:stateMachine:s*"] }
        #expect(exempt.values.allSatisfy { $0.disposition == .exempt })
        let succeeded = decide([cluster("j-S", execution("s", .succeeded))]) { $0.actions[.succeeded] = .terminate }
        #expect(succeeded["j-S"]?.disposition == .orphan)
        #expect(ReconcilePolicy.glob("a*c*e", matches: "abcde"))
        #expect(!ReconcilePolicy.glob("a*c*e", matches: "abcd"))
        #expect(ReconcilePolicy.glob("*", matches: ""))
    }

    @Test("a held scope names its holder; a refused termination is set aside until its backoff, the others proceed")
    func holdersAndRefusals() {
        let orphans = (0..<3).map { cluster("j-REFUSE\($0)", execution("r\($0)", .failed)) }
        let held = decide(orphans, uncertain: [Self.scope])
        #expect(held.values.allSatisfy { $0.disposition == .unknown && $0.reason.contains("execution X: test holder") })
        let refusal = Refusal(
            code: "AccessDeniedException",
            message: "explicit deny in a service control policy",
            count: 2,
            at: Self.now.adding(.seconds(-60)),
            retryAt: Self.now.adding(.seconds(540))
        )
        let d = decide(orphans, refusals: ["j-REFUSE1": refusal])
        #expect(d["j-REFUSE0"]?.action != nil && d["j-REFUSE2"]?.action != nil)
        #expect(d["j-REFUSE1"]?.disposition == .unknown)
        #expect(d["j-REFUSE1"]?.action == nil)
        #expect(d["j-REFUSE1"]?.reason.contains("AccessDeniedException: explicit deny") == true)
        // Once the backoff has passed it is tried again.
        let later = decide(orphans, refusals: ["j-REFUSE1": refusal], at: Self.now.adding(.seconds(600)))
        #expect(later["j-REFUSE1"]?.action != nil)
        // 5 min, doubling, at most 6 h.
        #expect(Refusal.backoff(afterRefusals: 1) == .seconds(300))
        #expect(Refusal.backoff(afterRefusals: 2) == .seconds(600))
        #expect(Refusal.backoff(afterRefusals: 7) == .seconds(320 * 60))
        #expect(Refusal.backoff(afterRefusals: 8) == .seconds(6 * 3600))
        #expect(Refusal.backoff(afterRefusals: 64) == .seconds(6 * 3600))
    }

    @Test("a cluster created in another account through a task's role is never acted on, and says why")
    func crossAccount() {
        var foreign = cluster("j-FOREIGN", execution("x", .aborted))
        foreign.scope = Scope(account: "222222222222", region: "us-east-1")
        foreign.state = .unknown
        foreign.observedThisPass = false
        let d = decide([foreign])
        #expect(d["j-FOREIGN"]?.disposition == .unknown)
        #expect(d["j-FOREIGN"]?.reason.contains("account 222222222222") == true)
        #expect(d["j-FOREIGN"]?.reason.contains("not observable") == true)
    }

    @Test(
        "randomized: never a terminate action for a cluster that is live, shared, exempt, ended, unknown, protected or ending itself",
        arguments: [20_261_124, 7, 99]
    )
    func neverTerminatesWhatIsInUse(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let statuses = ExecutionStatus.allCases
        let states = ClusterState.allCases
        for round in 0..<500 {
            var clusters: [ClusterFacts] = []
            for index in 0..<Int(rng.next() % 20) {
                let creator = execution(
                    "c\(round)-\(index)",
                    statuses[Int(rng.next() % UInt64(statuses.count))],
                    endedMinutesAgo: Int(rng.next() % 180),
                    redrive: rng.next() % 2 == 0 ? .redrivable : nil,
                    complete: rng.next() % 5 != 0
                )
                let references = (0..<Int(rng.next() % 3)).map { r in
                    execution(
                        "u\(round)-\(index)-\(r)",
                        statuses[Int(rng.next() % UInt64(statuses.count))],
                        endedMinutesAgo: Int(rng.next() % 180)
                    )
                }
                clusters.append(
                    cluster(
                        "j-R\(round)X\(index)",
                        creator,
                        state: states[Int(rng.next() % UInt64(states.count))],
                        protected: [true, false, nil][Int(rng.next() % 3)],
                        tags: rng.next() % 6 == 0 ? ["costguard:exempt": "true"] : [:],
                        references: references,
                        observed: rng.next() % 8 != 0,
                        autoTerminate: [true, false, nil][Int(rng.next() % 3)],
                        autoTermination: [.unread, .none, .idleTimeout(.seconds(Int64(rng.next() % 10_000)))][
                            Int(rng.next() % 3)
                        ]
                    )
                )
            }
            var configuration = PolicyConfiguration()
            configuration.maxTerminationsPerPass = Int(rng.next() % 5)
            configuration.unprotect = rng.next() % 2 == 0
            let decisions = ReconcilePolicy.decide(
                PolicyInput(clusters: clusters, now: Self.now),
                configuration: configuration
            )
            #expect(decisions.filter { $0.action != nil }.count <= configuration.maxTerminationsPerPass)
            for decision in decisions where decision.action != nil {
                let facts = clusters.first { $0.id == decision.clusterID }!
                #expect(facts.creator.status.hasEnded, "terminating the cluster of a \(facts.creator.status) execution")
                #expect(
                    facts.referencedBy.allSatisfy { $0.status.hasEnded },
                    "terminating a cluster a running execution uses"
                )
                #expect(facts.state.isActive && facts.observedThisPass)
                #expect(facts.tags?["costguard:exempt"] != "true")
                #expect(facts.creator.historyComplete)
                #expect(
                    facts.terminationProtected == false
                        || (facts.terminationProtected == true && configuration.unprotect)
                )
                #expect(configuration.actions[facts.creator.status] == .terminate)
                let idle = Self.now.since(
                    ([facts.creator.stopDate!] + facts.referencedBy.compactMap(\.stopDate)).max()!
                )
                #expect(idle >= configuration.grace)
                if facts.creator.redriveStatus == .redrivable { #expect(idle >= configuration.redriveGrace) }
                if [.failed, .timedOut].contains(facts.creator.status), idle < configuration.selfTerminationWait {
                    // Within the wait, only a cluster known not to end itself is terminated.
                    #expect(
                        facts.autoTerminationPolicy != .unread,
                        "terminating before its auto-termination policy was read"
                    )
                    #expect(
                        !(facts.autoTerminate == true && [.starting, .bootstrapping, .running].contains(facts.state))
                    )
                    if case .idleTimeout(let timeout) = facts.autoTerminationPolicy {
                        #expect(timeout >= configuration.selfTerminationWait)
                    }
                }
            }
        }
    }
}
