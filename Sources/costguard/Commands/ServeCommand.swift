import AWSClients
import ArgumentParser
import CostGuardCore
import CostGuardLedger
import CostGuardService
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

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
        let notify: @Sendable (String) -> Void = { notifier.send($0) }
        // Signals are trapped first: SIGHUP (reload) for the reload service; SIGTERM and SIGINT until the service
        // group traps them itself, so that one arriving during set-up stops the daemon before its first pass.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let earlyStops = await UnixSignalsSequence(trapping: .sigterm, .sigint)

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let metrics = ServiceMetrics()
        let stopRequested = StopFlag()
        let setup = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in earlyStops {
                    stopRequested.set()
                    return
                }
            }
            defer { group.cancelAll() }
            return try await run.prepare(
                database: database,
                trigger: "serve",
                wait: wait,
                observer: { metrics.record($0) }
            )
        }
        let reconciler = setup.reconciler
        let counter = reconciler.counter
        let state = ServeState(
            settings: ServeSettings(
                interval: interval.flatMap(DurationText.parse) ?? setup.configFile.interval ?? .seconds(300),
                policy: reconciler.configuration.policy
            )
        )
        let logger = Logger(label: "costguard.serve")
        let liveness = Liveness(clock: ContinuousClock(), state: state, lastActivity: { counter.lastActivity })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let address = metricsAddress ?? setup.configFile.metricsAddress ?? "127.0.0.1:9464"
        if address != "off" {
            guard let (host, port) = Self.hostPort(address) else {
                throw SetupError(.configuration, "serve.metrics_address '\(address)' must be HOST:PORT or 'off'")
            }
            do {
                let server = try await MetricsServer(
                    host: host,
                    port: port,
                    metrics: {
                        var buffer: [UInt8] = []
                        registry.emit(into: &buffer)
                        return String(decoding: buffer, as: UTF8.self)
                    },
                    health: { liveness.healthProblem(stale: max(state.settings.interval * 3, .seconds(600))) }
                )
                services.append(.init(service: MetricsService(server: server)))
            } catch {
                throw SetupError(
                    .configuration,
                    "cannot listen on \(address) for metrics: \(error). Fix: choose another --metrics-address (or 'off')"
                )
            }
        }
        if let period = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }).map({ Duration.microseconds($0) }) {
            services.append(
                .init(
                    service: WatchdogService(
                        clock: ContinuousClock(),
                        period: period,
                        isAlive: { liveness.isAlive(within: period) },
                        notify: notify
                    )
                )
            )
        }
        // A pass starting is progress: the watchdog measures the pass's silence from its start, not from the last
        // call of the pass before (up to an interval ago).
        let scheduler = PassScheduler(
            clock: ContinuousClock(),
            state: state,
            beforePass: { counter.touch() },
            pass: { settings in
                defer { counter.touch() }
                var reconciler = reconciler
                reconciler.configuration.policy = settings.policy
                let started = ContinuousClock.now
                do {
                    // On the global executor, not an event loop: the pass's SQLite writes never block NIO's threads.
                    let summary = try await reconciler.runPass()
                    let cost = try? ReportBuilder.orphanCostPerHour(reconciler.ledger, now: Timestamp.systemNow())
                    metrics.record(
                        summary,
                        duration: ContinuousClock.now - started,
                        orphanCostPerHour: cost,
                        now: Timestamp.systemNow()
                    )
                    notify("STATUS=\(summary.line)")
                    logger.notice("\(summary.line)")
                } catch {
                    metrics.recordFailedPass()
                    notify("STATUS=pass failed: \(error)")
                    logger.error("pass failed", metadata: ["error": "\(error)"])
                }
            }
        )
        services.append(.init(service: scheduler, successTerminationBehavior: .gracefullyShutdownGroup))
        if !setup.sender.channels.isEmpty {
            var observed = setup.sender
            observed.observer = { channel, outcome in metrics.recordNotice(channel: channel, outcome: outcome) }
            let sender = observed
            services.append(
                .init(
                    service: NotificationService(clock: ContinuousClock()) {
                        do {
                            _ = try await sender.deliverDue()
                            metrics.recordPendingNotices(try sender.ledger.notices.counts())
                        } catch {
                            logger.error("notices not sent", metadata: ["error": "\(error)"])
                        }
                    }
                )
            )
        }
        let reload = ReloadService(
            requests: hangups,
            state: state,
            load: {
                let file = try run.loadConfig(environment: environment)
                return ServeSettings(
                    interval: interval.flatMap(DurationText.parse) ?? file.interval ?? state.settings.interval,
                    policy: run.policy(from: file)
                )
            },
            notify: notify,
            onOutcome: { outcome in
                switch outcome {
                case .success: logger.notice("configuration reloaded")
                case .failure(let error):
                    logger.error("configuration rejected; keeping the previous one", metadata: ["error": "\(error)"])
                }
            }
        )
        services.append(.init(service: reload))
        // Shut down in reverse: STOPPING=1 at once, then no more reloads, then the pass in flight finishes, then
        // the watchdog and the metrics listener stop.
        services.append(.init(service: SystemdService(notify: notify)))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        if stopRequested.isSet { await group.triggerGracefulShutdown() }
        try await group.run()
        logger.notice("stopped")
        withExtendedLifetime(setup.lock) {}
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

/// Set once a stop signal arrived during set-up (before the service group traps the signals itself).
final class StopFlag: Sendable {
    private let flag = Mutex(false)

    func set() { flag.withLock { $0 = true } }

    var isSet: Bool { flag.withLock { $0 } }
}
