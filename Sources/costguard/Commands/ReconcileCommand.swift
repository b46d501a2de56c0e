import AWSClients
import ArgumentParser
import CostGuardCore
import CostGuardLedger
import CostGuardService
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `costguard reconcile`: one pass, for cron and systemd timers.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Run one reconcile pass: discover clusters from execution histories and terminate the orphans.",
        discussion: """
            A cluster is an orphan when it is still billing, the execution that created it has ended, and no \
            RUNNING execution uses it. By default CostGuard terminates the orphans of ABORTED, FAILED and \
            TIMED_OUT executions after a 15 min grace (1 h while the execution can be redriven) and reports those \
            of SUCCEEDED ones. Before each termination it re-reads the execution and the cluster, journals its \
            intent, then calls TerminateJobFlows and journals the outcome. Anything uncertain is left alone.

            EXIT CODES
              0   the pass completed and nothing needs attention
              3   orphans remain that were not terminated (dry run, protected, report-only, deferred)
              4   the pass was degraded by AWS errors; uncertain clusters were left alone
              64  usage error    74  ledger error    75  another CostGuard holds the ledger    78  configuration error

            Examples:
              costguard reconcile --dry-run
              costguard reconcile --region us-east-1 --region eu-west-1 --grace 30m
              AWS_PROFILE=costguard costguard reconcile --config /etc/costguard/costguard.toml
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var run: RunOptions

    @Flag(help: "Wait for another CostGuard on the same ledger (e.g. serve) to finish instead of exiting 75.")
    var wait = false

    func run() async throws {
        let setup = try await run.prepare(database: database, trigger: "reconcile", wait: wait)
        defer { withExtendedLifetime(setup.lock) {} }
        let summary: PassSummary
        do {
            // On the global executor, not an event loop: the pass's SQLite writes never block NIO's threads.
            summary = try await setup.reconciler.runPass()
        } catch {
            // The pass itself failed on the ledger (not a set-up failure).
            printError("costguard: \(error)")
            throw ExitCode(ExitStatus.ledgerUnavailable.rawValue)
        }
        printError("costguard: " + summary.line)
        // The notices this pass wrote (and any left from before), once each: a failure is retried by the next run.
        if !setup.sender.channels.isEmpty {
            do {
                let round = try await setup.sender.deliverDue()
                if round.retrying + round.failed > 0 {
                    printError(
                        "costguard: notices: \(round.delivered) delivered, \(round.retrying) to retry, "
                            + "\(round.failed) failed (see the log)"
                    )
                }
            } catch {
                printError("costguard: notices not sent: \(error)")
            }
        }
        switch summary.outcome {
        case .ok: return
        case .attention: throw ExitCode(ExitStatus.orphansRemain.rawValue)
        case .degraded: throw ExitCode(ExitStatus.degraded.rawValue)
        case .failed, .interrupted: throw ExitCode(ExitStatus.internalError.rawValue)
        }
    }
}

/// The options shared by `reconcile` and `serve`, and the wiring they share.
struct RunOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The configuration file (TOML; see Deploy/costguard.toml). Default: $COSTGUARD_CONFIG, else "
                + "$CONFIGURATION_DIRECTORY/costguard.toml under systemd, else none.",
            valueName: "path"
        )
    )
    var config: String?

    @Flag(help: "Decide and journal everything, terminate nothing (journaled as would-terminate).")
    var dryRun = false

    @Option(help: ArgumentHelp("Grace after an execution ended before acting (default 15m).", valueName: "duration"))
    var grace: String?

    @Option(help: ArgumentHelp("Grace while the execution can be redriven (default 1h).", valueName: "duration"))
    var redriveGrace: String?

    @Option(
        help: ArgumentHelp(
            "How long a cluster that ends itself (AutoTerminate with steps left, or a shorter auto-termination policy) is "
                + "left to, after a FAILED or TIMED_OUT creator (default 2h; 0s: not at all).",
            valueName: "duration"
        )
    )
    var selfTerminationWait: String?

    @Option(
        help: ArgumentHelp(
            "At most this many terminations per pass; the rest are deferred (default 10).",
            valueName: "n"
        )
    )
    var maxTerminations: Int?

    @Option(
        name: .customLong("region"),
        help: ArgumentHelp(
            "A region to guard (repeatable). Default: the config's regions, else AWS_REGION and the usual chain.",
            valueName: "region"
        )
    )
    var regions: [String] = []

    @Option(help: ArgumentHelp("An AWS profile (overrides AWS_PROFILE).", valueName: "name"))
    var profile: String?

    @Flag(help: "Log each step (info level) to stderr.")
    var verbose = false

    @Option(
        help: ArgumentHelp(
            "text (one line per event with key=value fields; syslog priority prefixes when stderr is the journal) or json.",
            valueName: "format"
        )
    )
    var logFormat: String = "text"

    func validate() throws {
        for (name, value) in [
            ("--grace", grace), ("--redrive-grace", redriveGrace), ("--self-termination-wait", selfTerminationWait),
        ] {
            if let value, DurationText.parse(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a duration; write it like 90s, 15m or 1h30m")
            }
        }
        if let maxTerminations, maxTerminations < 0 { throw ValidationError("--max-terminations must be 0 or more") }
        guard KeyValueLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json, not '\(logFormat)'")
        }
    }

    /// The config file's policy with the command-line flags applied over it (flags win).
    func policy(from file: ConfigFile) -> PolicyConfiguration {
        var policy = file.policy
        policy.dryRun = dryRun || (file.dryRun ?? false)
        if let grace { policy.grace = DurationText.parse(grace)! }
        if let redriveGrace { policy.redriveGrace = DurationText.parse(redriveGrace)! }
        if let selfTerminationWait { policy.selfTerminationWait = DurationText.parse(selfTerminationWait)! }
        if let maxTerminations { policy.maxTerminationsPerPass = maxTerminations }
        return policy
    }

    struct Setup {
        var reconciler: Reconciler
        /// Delivers the ledger's outbox (no channel: nothing to do).
        var sender: NoticeSender
        var configFile: ConfigFile
        /// Held from before the ledger is opened until the process exits.
        var lock: InstanceLock
    }

    /// Reads the config, resolves AWS settings for every region, takes the instance lock (exit 75 when another
    /// CostGuard holds it, unless `wait`), opens the ledger, and builds the reconciler. The lock comes before the open:
    /// a second instance is refused before it migrates or checks the file.
    func prepare(
        database: DatabaseOptions,
        trigger: String,
        wait: Bool,
        observer: (@Sendable (AWSCallRecord) -> Void)? = nil
    ) async throws -> Setup {
        ProcessUsage.limitMallocArenas()  // before the HTTP client's threads start
        let environment = currentEnvironment()
        let format = KeyValueLogHandler.Format(rawValue: logFormat) ?? .text
        let level: Logger.Level = verbose ? .info : (trigger == "serve" ? .notice : .warning)
        LoggingSystem.bootstrap { label in
            KeyValueLogHandler(label: label, level: level, format: format, environment: environment)
        }
        let file = try loadConfig(environment: environment)
        var configuration = ReconcileConfiguration()
        configuration.trigger = trigger
        configuration.policy = policy(from: file)
        configuration.prices = file.prices

        let counter = CallCounter()
        let caBundle: (path: String, source: String)?
        do {
            caBundle = try AWSSettings.caBundle(environment: environment, profile: profile ?? file.profile)
        } catch {
            throw SetupError(.configuration, "\(error.message)")
        }
        let transport: any HTTPTransport
        do {
            transport = try makeHTTPTransport(environment: environment, caBundle: caBundle?.path)
        } catch {
            throw SetupError(.configuration, error.message)
        }
        // One limiter for the process: AWS's buckets are per account and region, whichever client calls.
        let limiter = RateLimiter(configuration: file.rateLimits)
        let regionNames: [String?] = !regions.isEmpty ? regions : (!file.regions.isEmpty ? file.regions : [nil])
        var clients: [RegionClients] = []
        for name in regionNames {
            let settings: AWSSettings
            do {
                settings = try await AWSSettings.resolve(
                    environment: environment,
                    region: name,
                    profile: profile ?? file.profile,
                    transport: transport
                )
            } catch {
                throw SetupError(.configuration, "\(error.message)")
            }
            let context = AWSCallContext(
                transport: transport,
                retry: RetryStrategy(configuration: settings.retryConfiguration),
                observer: { call in
                    counter.record(call)
                    observer?(call)
                },
                logger: Logger(label: "costguard.aws"),
                rateLimiter: limiter
            )
            do {
                let chain = try settings.credentialChain(context: context)
                clients.append(
                    RegionClients(
                        region: settings.region,
                        sfn: SFNClient(
                            client: try settings.client(.stepFunctions, credentials: chain, context: context)
                        ),
                        emr: EMRClient(client: try settings.client(.emr, credentials: chain, context: context))
                    )
                )
            } catch {
                throw SetupError(.configuration, "\(error)")
            }
        }
        let path = database.database ?? file.database ?? database.resolvedPath()
        let lock: Result<InstanceLock, InstanceLock.Unavailable>
        do {
            lock = .success(try InstanceLock.acquire(forDatabase: path, command: trigger, wait: wait))
        } catch let problem as InstanceLock.Unavailable {
            // A missing or read-only directory: the ledger's open below names it, with the fix.
            lock = .failure(problem)
        } catch {
            throw SetupError(.locked, "\(error)")
        }
        let ledger: Ledger
        do {
            var ledgerConfiguration = Ledger.Configuration()
            if let every = file.quickCheckEvery { ledgerConfiguration.quickCheckInterval = every }
            ledger = try Ledger.open(path: path, now: Timestamp.systemNow(), configuration: ledgerConfiguration)
        } catch {
            throw SetupError(.ledgerUnavailable, "\(error)")
        }
        let held: InstanceLock
        do {
            held = try lock.get()
        } catch {
            throw SetupError(.ledgerUnavailable, "\(error)")
        }
        let webhook = try webhookChannel(file: file, environment: environment, transport: transport)
        let sns = try await snsChannel(file: file, environment: environment, transport: transport)
        configuration.notify = (webhook == nil ? [] : [.webhook]) + (sns == nil ? [] : [.sns])
        let reconciler = Reconciler(
            ledger: ledger,
            regions: clients,
            configuration: configuration,
            counter: counter,
            now: { Timestamp.systemNow() },
            logger: Logger(label: "costguard")
        )
        let sender = NoticeSender(
            ledger: ledger,
            webhook: webhook,
            sns: sns,
            now: { Timestamp.systemNow() },
            logger: Logger(label: "costguard.notify")
        )
        return Setup(reconciler: reconciler, sender: sender, configFile: file, lock: held)
    }

    /// The SNS topic to tell people through (`[notify] sns_topic_arn`), with a client in the topic's region and the
    /// same credentials as the pass.
    func snsChannel(
        file: ConfigFile,
        environment: [String: String],
        transport: any HTTPTransport
    ) async throws -> SNSChannel? {
        guard let topic = file.snsTopicARN else { return nil }
        guard let region = SNSChannel.region(ofTopic: topic) else {
            throw SetupError(
                .configuration,
                "notify.sns_topic_arn '\(topic)' is not an SNS topic ARN. Fix: write it like "
                    + "arn:aws:sns:us-east-1:123456789012:costguard-notices"
            )
        }
        do {
            let settings = try await AWSSettings.resolve(
                environment: environment,
                region: region,
                profile: profile ?? file.profile,
                transport: transport
            )
            let context = AWSCallContext(transport: transport, logger: Logger(label: "costguard.aws"))
            let chain = try settings.credentialChain(context: context)
            return SNSChannel(
                client: SNSClient(client: try settings.client(.sns, credentials: chain, context: context)),
                topicARN: topic
            )
        } catch {
            throw SetupError(.configuration, "notify.sns_topic_arn: \(error)")
        }
    }

    /// The webhook to tell people through: `COSTGUARD_WEBHOOK_URL`, else the file `[notify] webhook_url_file`
    /// names, else none. Errors never show the URL.
    func webhookChannel(
        file: ConfigFile,
        environment: [String: String],
        transport: any HTTPTransport
    ) throws -> WebhookChannel? {
        var url = environment["COSTGUARD_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 }
        var source = "COSTGUARD_WEBHOOK_URL"
        if url == nil, let path = file.webhookURLFile {
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw SetupError(
                    .configuration,
                    "cannot read the webhook URL file \(path) (notify.webhook_url_file). Fix: create it, readable "
                        + "by the CostGuard user only, with the URL on one line"
                )
            }
            url = String(decoding: bytes, as: UTF8.self)
            source = path
        }
        guard let url else { return nil }
        do {
            return try WebhookChannel(url: url, transport: transport)
        } catch {
            throw SetupError(.configuration, "\(source): \(error.message). Fix: put the whole https:// URL there")
        }
    }

    func loadConfig(environment: [String: String]) throws -> ConfigFile {
        try loadConfigFile(explicit: config, environment: environment)
    }
}
