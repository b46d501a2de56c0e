import AWSClients
import ArgumentParser
import CostGuardCore
import CostGuardLedger
import CostGuardService
import Dispatch
import Logging
import Metrics
import Prometheus
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `costguard serve`: the reconcile loop as a systemd service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run reconcile passes on an interval, as a systemd service (Type=notify, watchdog).",
        discussion: """
            Takes the same options and configuration file as `costguard reconcile`, and shares every policy and \
            safety rule with it; one pass at a time. Speaks the systemd notify protocol over $NOTIFY_SOCKET: \
            READY=1 once the configuration is valid and the ledger open, STATUS= with each pass's summary, \
            WATCHDOG=1 every WATCHDOG_USEC/2 while AWS calls keep completing (a hung pass stops the pings, so \
            systemd restarts the service). SIGHUP reloads the configuration file (an invalid one is rejected and the \
            old one kept); SIGTERM lets the pass in flight finish, then exits 0.

            Only one CostGuard runs per ledger: a second serve, or a reconcile while serve runs, exits 75 naming the \
            holder (or waits, with --wait).

            Example:
              costguard serve --config /etc/costguard/costguard.toml --interval 5m
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var run: RunOptions

    @Option(
        help: ArgumentHelp(
            "Time between passes (default: the config's serve.interval, else 5m), jittered ±10%.",
            valueName: "duration"
        )
    )
    var interval: String?

    @Flag(help: "Wait for another CostGuard on the same ledger to finish instead of exiting 75.")
    var wait = false

    @Option(
        help: ArgumentHelp(
            "Where /metrics and /healthz listen: HOST:PORT, or 'off' (default: the config's serve.metrics_address, else 127.0.0.1:9464).",
            valueName: "address"
        )
    )
    var metricsAddress: String?

    func validate() throws {
        if let interval, DurationText.parse(interval) == nil {
            throw ValidationError("--interval '\(interval)' is not a duration; write it like 90s or 5m")
        }
        if let metricsAddress, metricsAddress != "off", Self.hostPort(metricsAddress) == nil {
            throw ValidationError(
                "--metrics-address '\(metricsAddress)' must be HOST:PORT (e.g. 127.0.0.1:9464) or 'off'"
            )
        }
    }

    func run() async throws {
        let environment = currentEnvironment()
        let notifier = SystemdNotifier(environment: environment)
        // Signals become flags the loop reads; the default actions are turned off first.
        for signal in [SIGTERM, SIGINT, SIGHUP] { Glibc.signal(signal, SIG_IGN) }
        let flags = SignalFlags()
        var sources: [any DispatchSourceSignal] = []
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { flags.raise(signal) }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let metrics = ServiceMetrics()
        let setup = try await run.prepare(
            database: database,
            trigger: "serve",
            wait: wait,
            observer: { metrics.record($0) }
        )
        let lock = setup.lock
        var reconciler = setup.reconciler
        var every = interval.flatMap(DurationText.parse) ?? setup.configFile.interval ?? .seconds(300)
        let logger = Logger(label: "costguard.serve")
        let counterForHealth = reconciler.counter
        let stale = max(every * 3, .seconds(600))
        var server: MetricsServer?
        let address = metricsAddress ?? setup.configFile.metricsAddress ?? "127.0.0.1:9464"
        if address != "off" {
            guard let (host, port) = Self.hostPort(address) else {
                printError("costguard: serve.metrics_address '\(address)' must be HOST:PORT or 'off'")
                throw ExitCode(ExitStatus.configuration.rawValue)
            }
            do {
                server = try await MetricsServer(
                    host: host,
                    port: port,
                    metrics: {
                        var buffer: [UInt8] = []
                        registry.emit(into: &buffer)
                        return String(decoding: buffer, as: UTF8.self)
                    },
                    health: {
                        let idle = ContinuousClock.now - counterForHealth.lastActivity
                        return idle < stale ? nil : "no progress for \(idle)"
                    }
                )
            } catch {
                printError(
                    "costguard: cannot listen on \(address) for metrics: \(error). Fix: choose another "
                        + "--metrics-address (or 'off')"
                )
                throw ExitCode(ExitStatus.configuration.rawValue)
            }
        }
        notifier.send("READY=1\nSTATUS=ready; first pass starting")

        // The watchdog: ping only while AWS calls (or passes) keep completing within the watchdog period.
        let watchdog: Duration? = environment["WATCHDOG_USEC"].flatMap { UInt64($0) }.map { .microseconds($0) }
        let counter = reconciler.counter
        let watchdogTask = Task {
            guard let watchdog else { return }
            while !Task.isCancelled {
                if ContinuousClock.now - counter.lastActivity < watchdog { notifier.send("WATCHDOG=1") }
                try? await Task.sleep(for: watchdog / 2)
            }
        }
        defer { watchdogTask.cancel() }

        while !flags.stopRequested {
            reconciler.counter.touch()
            let started = ContinuousClock.now
            do {
                // On the transport's event loop: no thread hand-off per AWS call (see `TransportExecutor`).
                let summary = try await withTaskExecutorPreference(TransportExecutor.shared) {
                    try await reconciler.runPass()
                }
                let cost = try? ReportBuilder.orphanCostPerHour(reconciler.ledger, now: Timestamp.systemNow())
                metrics.record(
                    summary,
                    duration: ContinuousClock.now - started,
                    orphanCostPerHour: cost,
                    now: Timestamp.systemNow()
                )
                if let hits = try? reconciler.ledger.cachedReadHits() { metrics.recordLedgerCacheHits(total: hits) }
                notifier.send("STATUS=\(summary.line)")
                logger.notice("\(summary.line)")
            } catch {
                metrics.recordFailedPass()
                notifier.send("STATUS=pass failed: \(error)")
                logger.error("pass failed", metadata: ["error": "\(error)"])
            }
            reconciler.counter.touch()
            // Sleep until the next pass (±10 % jitter). A signal ends the wait at once; with a watchdog, the loop
            // also wakes every quarter of its period, to show it is alive (during a pass, AWS calls do). It used
            // to wake every 100 ms to look for signals: ten wake-ups a second, each handing off between threads.
            let jitter = Double.random(in: 0.9...1.1)
            let deadline = ContinuousClock.now + every * jitter
            while !flags.stopRequested && ContinuousClock.now < deadline {
                // Idle and responsive: a sign of life for the watchdog.
                reconciler.counter.touch()
                if flags.takeReload() {
                    notifier.send("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())")
                    do {
                        let file = try run.loadConfig(environment: environment)
                        reconciler.configuration.policy = run.policy(from: file)
                        every = interval.flatMap(DurationText.parse) ?? file.interval ?? every
                        logger.notice("configuration reloaded")
                        notifier.send("READY=1\nSTATUS=configuration reloaded")
                    } catch {
                        logger.error(
                            "configuration rejected; keeping the previous one",
                            metadata: ["error": "\(error)"]
                        )
                        notifier.send("READY=1\nSTATUS=reload rejected (invalid configuration); previous one kept")
                    }
                }
                await flags.sleep(until: watchdog.map { min(deadline, ContinuousClock.now + $0 / 4) } ?? deadline)
            }
        }
        notifier.send("STOPPING=1\nSTATUS=stopping")
        await server?.close()
        logger.notice("stopped")
        withExtendedLifetime(lock) {}
    }
}

extension ServeCommand {
    /// `127.0.0.1:9464` → ("127.0.0.1", 9464); `[::1]:9464` → ("::1", 9464).
    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

/// Signals received, as flags the loop reads, and the loop's wait between passes, which a signal ends.
final class SignalFlags: Sendable {
    private struct State {
        var stop = false
        var reload = false
        /// The wait in progress (`sleep(until:)`), cancelled by a signal.
        var sleeper: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func raise(_ signal: Int32) {
        let sleeper = state.withLock { state in
            if signal == SIGHUP { state.reload = true } else { state.stop = true }
            return state.sleeper
        }
        sleeper?.cancel()
    }

    var stopRequested: Bool { state.withLock { $0.stop } }

    func takeReload() -> Bool {
        state.withLock { value in
            defer { value.reload = false }
            return value.reload
        }
    }

    /// Waits until `deadline`, or until a signal is raised (returns at once when one is waiting to be handled). The
    /// flags and the wait are set under one lock: a signal either finds the wait and ends it, or is seen before it.
    func sleep(until deadline: ContinuousClock.Instant) async {
        let sleeper = Task { _ = try? await Task.sleep(until: deadline, clock: .continuous) }
        let pending = state.withLock { state in
            guard !state.stop && !state.reload else { return true }
            state.sleeper = sleeper
            return false
        }
        if pending { sleeper.cancel() }
        await sleeper.value
        state.withLock { $0.sleeper = nil }
    }
}
