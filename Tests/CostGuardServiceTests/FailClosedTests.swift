import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardService
import CostGuardTestKit
import Foundation
import Logging
import Synchronization
import Testing

/// Faults injected between the reconciler and the real emulator: the guard must fail closed.
@Suite("Fail closed under injected faults", .serialized)
struct FailClosedTests {
    /// Forwards to the emulator, except for the operations told to fail.
    final class FaultyTransport: HTTPTransport, Sendable {
        enum Fault: Sendable {
            case serverError
            case timeout
            /// A client error AWS answers with this code (JSON protocol, HTTP 400).
            case refused(code: String)
        }
        let inner = AsyncHTTPClientTransport()
        let faults = Mutex<[String: Fault]>([:])
        /// Operations that fail only when the request body contains the text.
        let matching = Mutex<[String: (text: String, fault: Fault)]>([:])
        let seen = Mutex<[String]>([])
        let bodies = Mutex<[String]>([])

        func fail(_ operation: String, with fault: Fault) { faults.withLock { $0[operation] = fault } }
        func fail(_ operation: String, whenBodyContains text: String, with fault: Fault) {
            matching.withLock { $0[operation] = (text, fault) }
        }
        func heal() {
            faults.withLock { $0 = [:] }
            matching.withLock { $0 = [:] }
        }
        var operations: [String] { seen.withLock { $0 } }
        /// `Operation body` of every request so far.
        var requests: [String] { bodies.withLock { $0 } }

        func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
            let target =
                request.headers.first { $0.name == "X-Amz-Target" }?.value.split(separator: ".").last.map(String.init)
                ?? ""
            let body = String(decoding: request.body, as: UTF8.self)
            seen.withLock { $0.append(target) }
            bodies.withLock { $0.append(target + " " + body) }
            let matched = matching.withLock { $0[target] }.flatMap { body.contains($0.text) ? $0.fault : nil }
            switch matched ?? faults.withLock({ $0[target] }) {
            case .serverError?:
                return HTTPResponse(
                    status: 500,
                    headers: [("X-Amzn-ErrorType", "InternalFailure")],
                    body: Array(#"{"message":"injected"}"#.utf8)
                )
            case .timeout?:
                throw TransportError(.timeout, "injected timeout")
            case .refused(let code)?:
                return HTTPResponse(
                    status: 400,
                    headers: [("X-Amzn-ErrorType", code)],
                    body: Array(#"{"__type":"\#(code)","message":"injected refusal"}"#.utf8)
                )
            case nil:
                return try await inner.send(request, timeout: timeout)
            }
        }
    }

    struct Harness {
        var emulator: Emulator
        var transport: FaultyTransport
        var ledger: Ledger
        var reconciler: Reconciler
        var emr: EMRClient
        var scenarios: [String: ReconcileScenarioTests.Scenario]
    }

    /// A world of `only` scenarios and a reconciler whose host clock runs `hostClockAhead` ahead of AWS's.
    func harness(_ only: [String], hostClockAhead: Duration = .zero) async throws -> Harness {
        let world = try await ReconcileScenarioTests().makeWorld(only: only)
        let transport = FaultyTransport()
        let settings = try await AWSSettings.resolve(environment: world.environment, transport: transport)
        var retry = RetryStrategy.Configuration()
        retry.maxAttempts = 1
        let hostNow: @Sendable () -> Timestamp = { Timestamp.systemNow().adding(hostClockAhead) }
        let context = AWSCallContext(transport: transport, retry: RetryStrategy(configuration: retry), now: hostNow)
        let chain = try settings.credentialChain(context: context)
        let region = RegionClients(
            region: "us-east-1",
            sfn: SFNClient(client: try settings.client(.stepFunctions, credentials: chain, context: context)),
            emr: EMRClient(client: try settings.client(.emr, credentials: chain, context: context))
        )
        var configuration = ReconcileConfiguration()
        configuration.policy.grace = .zero
        configuration.policy.redriveGrace = .zero
        let ledger = try Ledger.open(path: world.database, now: Timestamp.systemNow())
        let reconciler = Reconciler(
            ledger: ledger,
            regions: [region],
            configuration: configuration,
            counter: CallCounter(),
            now: hostNow,
            logger: Logger(label: "test")
        )
        return Harness(
            emulator: world.emulator,
            transport: transport,
            ledger: ledger,
            reconciler: reconciler,
            emr: world.emr,
            scenarios: world.scenarios
        )
    }

    @Test("a failed listing degrades the pass and nothing is terminated; once healed, the orphans go")
    func failedListing() async throws {
        let h = try await harness(["stopped-while-waiting", "failed"])
        defer { h.emulator.stop() }
        for operation in ["ListClusters", "ListStateMachines", "ListExecutions"] {
            h.transport.fail(operation, with: .serverError)
            let pass = try await h.reconciler.runPass()
            #expect(pass.outcome == .degraded, "\(operation)")
            #expect(pass.terminated.isEmpty, "\(operation)")
            #expect(!h.transport.operations.contains("TerminateJobFlows"))
            h.transport.heal()
        }
        let healed = try await h.reconciler.runPass()
        #expect(healed.terminated.count == 2)
        #expect(healed.outcome == .ok)
    }

    @Test("a failed re-check or history read keeps that cluster; the others are still handled")
    func localFailures() async throws {
        let h = try await harness(["stopped-while-waiting", "failed"])
        defer { h.emulator.stop() }
        // Discovery succeeds; every DescribeCluster (the re-check) fails: nothing may be acted on.
        h.transport.fail("DescribeCluster", with: .serverError)
        let first = try await h.reconciler.runPass()
        #expect(first.terminated.isEmpty)
        #expect(first.outcome == .degraded)
        #expect(first.decisions.allSatisfy { $0.action == nil })
        h.transport.heal()
        let second = try await h.reconciler.runPass()
        #expect(second.terminated.count == 2)
    }

    @Test(
        "a TerminateJobFlows timeout is journaled 'unknown'; a crash between intent and call is completed without repeating blindly"
    )
    func uncertainCalls() async throws {
        let h = try await harness(["stopped-while-waiting", "failed"])
        defer { h.emulator.stop() }
        h.transport.fail("TerminateJobFlows", with: .timeout)
        let first = try await h.reconciler.runPass()
        #expect(first.terminated.isEmpty)
        let outcomes = try h.ledger.journal.rows().filter { $0.kind == .outcome }
        #expect(outcomes.count == 2, "\(first.decisions.map { "\($0.clusterID) \($0.disposition): \($0.reason)" })")
        #expect(outcomes.allSatisfy { $0.result == .unknown })
        h.transport.heal()

        // A crash right after an intent was committed: the next pass describes the cluster, records what it found,
        // and only then decides afresh (re-check, new intent, call).
        let stopped = try #require(h.scenarios["stopped-while-waiting"]?.clusterIds.first)
        let crashed = try h.ledger.journal.intent(
            JournalRecord(
                action: .terminate,
                clusterID: stopped,
                region: "us-east-1",
                account: "123456789012",
                dryRun: false,
                reason: "test"
            ),
            pass: nil,
            at: Timestamp.systemNow()
        )
        let second = try await h.reconciler.runPass()
        let journal = try h.ledger.journal.rows()
        let completion = try #require(journal.first { $0.intentSeq == crashed })
        #expect(completion.result == .unknown)
        #expect(completion.errorMessage?.contains("no evidence the call reached AWS") == true)
        #expect(second.terminated.count == 2)
        #expect(try h.ledger.journal.openIntents().isEmpty)
        // Every intent has exactly one outcome, and each outcome follows its intent.
        for intent in journal.filter({ $0.kind == .intent }) {
            #expect(journal.filter { $0.intentSeq == intent.seq }.count == 1)
        }
    }

    @Test("a RUNNING execution whose history cannot be read holds its region, says so, and is retried until it reads")
    func runningHistoryUnreadable() async throws {
        let h = try await harness(["stopped-while-waiting", "still-running"])
        defer { h.emulator.stop() }
        let running = try #require(h.scenarios["still-running"]?.executionArn)
        let orphan = try #require(h.scenarios["stopped-while-waiting"]?.clusterIds.first)
        h.transport.fail("GetExecutionHistory", whenBodyContains: running, with: .serverError)
        for round in 0..<2 {
            let before = h.transport.requests.count
            let pass = try await h.reconciler.runPass()
            // Held, never silent: degraded, the holder named in the held cluster's reason.
            #expect(pass.outcome == .degraded, "round \(round)")
            #expect(pass.terminated.isEmpty)
            let held = try #require(pass.decisions.first { $0.clusterID == orphan })
            #expect(held.disposition == .unknown)
            #expect(held.reason.contains(running), "\(held.reason)")
            #expect(held.reason.contains("history read failed"), "\(held.reason)")
            #expect(pass.problems.contains { $0.contains("held") }, "\(pass.problems)")
            // Retried every pass (not left as it is while the execution runs).
            #expect(
                h.transport.requests[before...].contains { $0.hasPrefix("GetExecutionHistory") && $0.contains(running) }
            )
        }
        h.transport.heal()
        let healed = try await h.reconciler.runPass()
        #expect(healed.terminated == [orphan])
        #expect(healed.decisions.first { $0.clusterID != orphan }?.disposition == .live)
        #expect(healed.outcome == .ok, "\(healed.problems)")
    }

    @Test(
        "a state machine whose KMS key CostGuard may not use: followed anyway, its RUNNING execution holds the region, named with the fix"
    )
    func unreadableStateMachine() async throws {
        let h = try await harness(["stopped-while-waiting", "still-running"])
        defer { h.emulator.stop() }
        let machine = try #require(h.scenarios["still-running"]?.stateMachineArn)
        let running = try #require(h.scenarios["still-running"]?.executionArn)
        let orphan = try #require(h.scenarios["stopped-while-waiting"]?.clusterIds.first)
        h.transport.fail(
            "DescribeStateMachine",
            whenBodyContains: machine,
            with: .refused(code: "KmsAccessDeniedException")
        )
        h.transport.fail(
            "GetExecutionHistory",
            whenBodyContains: running,
            with: .refused(code: "KmsAccessDeniedException")
        )
        let pass = try await h.reconciler.runPass()
        #expect(pass.outcome == .degraded)
        #expect(pass.terminated.isEmpty)
        let held = try #require(pass.decisions.first { $0.clusterID == orphan })
        #expect(held.disposition == .unknown)
        #expect(held.reason.contains(running), "\(held.reason)")
        #expect(held.reason.contains("kms:Decrypt"), "\(held.reason)")
        // The machine is followed as one whose definition is unknown (its executions' histories decide).
        let row = try #require(try h.ledger.stateMachines.all()[machine])
        #expect(row.definitionStatus == .unparsable)
        #expect(row.definitionProblem?.contains("KmsAccessDeniedException") == true)
        // Once the key is usable, the history reads and the region is free.
        h.transport.heal()
        let healed = try await h.reconciler.runPass()
        #expect(healed.terminated == [orphan])
    }

    @Test("a host clock further from AWS's than a minute (or half the grace) stops every action, saying why")
    func clockSkew() async throws {
        let skewed = try await harness(["stopped-while-waiting", "failed"], hostClockAhead: .seconds(600))
        let pass = try await skewed.reconciler.runPass()
        skewed.emulator.stop()
        #expect(pass.outcome == .degraded)
        #expect(pass.terminated.isEmpty)
        #expect(!skewed.transport.operations.contains("TerminateJobFlows"))
        // 10 minutes, to the second the Date header gives.
        #expect(
            pass.problems.contains {
                ($0.contains("clock is 10m") || $0.contains("clock is 9m59s")) && $0.contains("ahead of AWS's")
            },
            "\(pass.problems)"
        )
        // Every cluster that would have been acted on is held, saying why. (Under load the emulator's failed
        // execution may still be RUNNING at this pass: its cluster is live, which the clock does not change.)
        let wouldAct = pass.decisions.filter { $0.disposition != .live && $0.disposition != .grace }
        #expect(!wouldAct.isEmpty, "\(pass.decisions.map { "\($0.clusterID) \($0.disposition)" })")
        #expect(
            wouldAct.allSatisfy { $0.disposition == .unknown && $0.reason.contains("time synchronisation") },
            "\(pass.decisions.map { "\($0.clusterID) \($0.disposition): \($0.reason)" })"
        )
        // 20 s off is within the minute allowed: acted on.
        let close = try await harness(["stopped-while-waiting", "failed"], hostClockAhead: .seconds(20))
        defer { close.emulator.stop() }
        let acted = try await close.reconciler.runPass()
        #expect(acted.terminated.count == 2, "\(acted.problems)")
        let offset = try #require(close.reconciler.regions.first?.sfn.observedClockOffset)
        #expect(offset < .seconds(-18) && offset > .seconds(-22), "\(offset)")
    }
}
