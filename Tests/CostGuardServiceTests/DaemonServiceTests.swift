import CostGuardCore
import CostGuardService
import CostGuardTestKit
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// The daemon's services (`serve`) on a manual clock: intervals, jitter, graceful shutdown, reload, the watchdog and
/// the health check, with no real sleep. The real binary's daemon tests (ServeTests) prove the wiring and signals.
@Suite("serve's services on a manual clock")
struct DaemonServiceTests {
    /// Notifications sent, in order.
    final class Recorder: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
        func count(_ line: String) -> Int { all.filter { $0 == line }.count }
    }

    /// Holds a pass until opened.
    final class Gate: Sendable {
        private let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation

        init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
        func wait() async { for await _ in stream { return } }
        func open() { continuation.finish() }
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    static func state(interval: Duration = .seconds(300)) -> ServeState {
        ServeState(settings: ServeSettings(interval: interval, policy: PolicyConfiguration()))
    }

    @Test("passes follow the interval times the jitter on the clock; a graceful shutdown ends the wait at once")
    func intervalAndJitter() async throws {
        let clock = ManualClock()
        let state = Self.state()
        let passes = Counter()
        let scheduler = PassScheduler(clock: clock, state: state, jitter: { 1.1 }, pass: { _ in passes.increment() })
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                #expect(await clock.waitForSleepers())
                #expect(passes.count == 1)
                #expect(state.phase == .waiting)
                // 300 s × 1.1: nothing at 329 s, the second pass at 330 s.
                clock.advance(by: .seconds(329))
                #expect(clock.sleeping == 1)
                #expect(passes.count == 1)
                clock.advance(by: .seconds(1))
                #expect(await eventually { passes.count == 2 })
                #expect(await clock.waitForSleepers())
                trigger.triggerGracefulShutdown()
                try await group.next()
                #expect(passes.count == 2, "no pass after the shutdown")
                #expect(state.phase == .stopped)
            }
        }
    }

    @Test("a graceful shutdown during a pass lets it finish and starts no other; systemd hears READY, then STOPPING")
    func shutdownMidPass() async throws {
        let clock = ManualClock()
        let state = Self.state()
        let gate = Gate()
        let passes = Counter()
        let notes = Recorder()
        let scheduler = PassScheduler(
            clock: clock,
            state: state,
            jitter: { 1 },
            pass: { _ in
                await gate.wait()
                passes.increment()
            }
        )
        let systemd = SystemdService(notify: notes.append)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                group.addTask { try await systemd.run() }
                #expect(
                    await eventually {
                        state.phase == .passing && notes.count("READY=1\nSTATUS=ready; first pass starting") == 1
                    }
                )
                trigger.triggerGracefulShutdown()
                #expect(await eventually { notes.all.last == "STOPPING=1\nSTATUS=stopping" })
                // The pass in flight is not interrupted.
                for _ in 0..<1000 { await Task.yield() }
                #expect(state.phase == .passing)
                #expect(passes.count == 0)
                gate.open()
                try await group.waitForAll()
                #expect(passes.count == 1)
                #expect(state.phase == .stopped)
                #expect(clock.sleeping == 0, "no wait after the last pass")
            }
        }
    }

    @Test(
        "a reload is accepted (new interval for the next wait) or rejected (previous settings kept), with systemd's reload protocol"
    )
    func reload() async throws {
        struct Invalid: Error {}
        let clock = ManualClock()
        let state = Self.state()
        let notes = Recorder()
        let passes = Counter()
        let (requests, request) = AsyncStream.makeStream(of: Void.self)
        let answers = Mutex<[Result<ServeSettings, Invalid>]>([
            .success(ServeSettings(interval: .seconds(60), policy: PolicyConfiguration())), .failure(Invalid()),
        ])
        let reload = ReloadService(
            requests: requests,
            state: state,
            load: { try answers.withLock { $0.removeFirst() }.get() },
            notify: notes.append,
            monotonicMicroseconds: { 42 }
        )
        let scheduler = PassScheduler(clock: clock, state: state, jitter: { 1 }, pass: { _ in passes.increment() })
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                group.addTask { try await reload.run() }
                #expect(await clock.waitForSleepers())
                request.yield()
                #expect(await eventually { notes.count("READY=1\nSTATUS=configuration reloaded") == 1 })
                #expect(state.settings.interval == .seconds(60))
                request.yield()
                #expect(await eventually { notes.all.count == 4 })
                #expect(
                    notes.all == [
                        "RELOADING=1\nMONOTONIC_USEC=42", "READY=1\nSTATUS=configuration reloaded",
                        "RELOADING=1\nMONOTONIC_USEC=42",
                        "READY=1\nSTATUS=reload rejected (invalid configuration); previous one kept",
                    ]
                )
                #expect(state.settings.interval == .seconds(60), "a rejected file changes nothing")
                // The wait in progress keeps its deadline (300 s); the next one uses the reloaded 60 s.
                clock.advance(by: .seconds(300))
                #expect(await eventually { passes.count == 2 })
                #expect(await clock.waitForSleepers())
                clock.advance(by: .seconds(59))
                #expect(passes.count == 2)
                clock.advance(by: .seconds(1))
                #expect(await eventually { passes.count == 3 })
                #expect(await clock.waitForSleepers())
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test("watchdog pings stop while a pass hangs on a call, resume with progress; /healthz says so")
    func watchdogAndHealth() async throws {
        let clock = ManualClock()
        let state = Self.state()
        let activity = Mutex(clock.now)
        let liveness = Liveness(clock: clock, state: state, lastActivity: { activity.withLock { $0 } })
        let gate = Gate()
        let notes = Recorder()
        let scheduler = PassScheduler(
            clock: clock,
            state: state,
            jitter: { 1 },
            beforePass: { activity.withLock { $0 = clock.now } },  // as serve notes progress when a pass starts
            pass: { _ in
                await gate.wait()  // an AWS call that never answers
            }
        )
        let period = Duration.seconds(20)
        let watchdog = WatchdogService(
            clock: clock,
            period: period,
            isAlive: { liveness.isAlive(within: period) },
            notify: notes.append
        )
        func pings() -> Int { notes.count("WATCHDOG=1") }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                #expect(await eventually { state.phase == .passing })
                group.addTask { try await watchdog.run() }
                #expect(await clock.waitForSleepers())
                #expect(pings() == 1)
                // Every half period: alive at 10 s (the last call 10 s ago), not at 20 s or 30 s.
                for (elapsed, expected) in [(10, 2), (20, 2), (30, 2)] {
                    clock.advance(by: .seconds(10))
                    #expect(await clock.waitForSleepers(), "at \(elapsed) s")
                    #expect(pings() == expected, "at \(elapsed) s")
                }
                #expect(liveness.healthProblem(stale: period)?.hasPrefix("no progress for 30") == true)
                // A call finishes: signs of life again.
                activity.withLock { $0 = clock.now }
                clock.advance(by: .seconds(10))
                #expect(await clock.waitForSleepers())
                #expect(pings() == 3)
                #expect(liveness.healthProblem(stale: period) == nil)
                // The pass ends: waiting between passes is alive, however long.
                gate.open()
                #expect(await eventually { state.phase == .waiting })
                #expect(await clock.waitForSleepers(2))
                clock.advance(by: .seconds(100))
                #expect(await eventually { pings() == 4 })
                #expect(liveness.healthProblem(stale: period) == nil)
                trigger.triggerGracefulShutdown()
                gate.open()
                try await group.waitForAll()
            }
        }
    }
}
