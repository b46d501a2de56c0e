import ArgumentParser
import CostGuardCore
import CostGuardLedger
import CostGuardService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Filters shared by `report` and `journal`.
struct ReportFilters: ParsableArguments {
    @Option(help: ArgumentHelp("table, json or csv (default table).", valueName: "format"))
    var format: String = "table"

    @Option(
        help: ArgumentHelp(
            "Only entries at or after this time: an ISO-8601 time (2026-11-24T00:00:00Z) or a duration ago (24h, 7d).",
            valueName: "time"
        )
    )
    var since: String?

    @Option(help: ArgumentHelp("The configuration file (for [prices] and [report]).", valueName: "path"))
    var config: String?

    func validate() throws {
        guard ReportFormatter.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be table, json or csv, not '\(format)'")
        }
        if let since, sinceTime(since, now: Timestamp.systemNow()) == nil {
            throw ValidationError("--since '\(since)' is neither an ISO-8601 time nor a duration like 24h")
        }
    }

    func sinceTime(_ text: String, now: Timestamp) -> Timestamp? {
        if let time = Timestamp(iso8601: text) { return time }
        if let ago = DurationText.parse(text) { return now.adding(.zero - ago) }
        return nil
    }

    func loadConfig() throws -> ConfigFile {
        try loadConfigFile(explicit: config, environment: currentEnvironment())
    }
}

/// `costguard report`: what is leaking and what it costs, from the ledger alone.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show the orphaned clusters and what they cost (read-only; needs no AWS credentials).",
        discussion: """
            Reads the ledger only (safe while serve writes). By default lists the unresolved clusters (every \
            disposition but terminated and ended); --all adds those. Costs come from the clusters' instance groups \
            or fleets × the price table (EC2 On-Demand + EMR uplift per instance-hour; Spot at a configured \
            fraction), or NormalizedInstanceHours × a rate when the capacity is unknown (the costBasis says which). \
            "$ so far" is spent since the cluster became an orphan. The JSON schema is \
            Deploy/schemas/report-v1.schema.json.

            Examples:
              costguard report
              costguard report --status would-terminate --status protected --format csv > orphans.csv
              costguard report --all --since 7d --format json
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var filters: ReportFilters

    @Option(
        name: .customLong("status"),
        help: ArgumentHelp(
            "Only this disposition (repeatable): orphan, terminated, would-terminate, protected, exempt, shared, live, grace, deferred, report-only, unknown, ended, self-terminating.",
            valueName: "disposition"
        )
    )
    var statuses: [String] = []

    @Option(help: ArgumentHelp("Only clusters of this state machine (ARN or name).", valueName: "arn-or-name"))
    var stateMachine: String?

    @Option(help: ArgumentHelp("Only this region.", valueName: "region"))
    var region: String?

    @Option(help: ArgumentHelp("Only this account.", valueName: "id"))
    var account: String?

    @Option(
        help: ArgumentHelp(
            "cost (highest first, default), orphaned (oldest first), cluster (id) or name.",
            valueName: "key"
        )
    )
    var sort: String = "cost"

    @Flag(help: "Include resolved clusters (terminated, ended).")
    var all = false

    @Option(
        help: ArgumentHelp(
            "Hours a leak would have run unnoticed, for the money saved (default 24).",
            valueName: "hours"
        )
    )
    var noticeHours: Double?

    func validate() throws {
        let known = Set(Disposition.allCases.map(\.rawValue))
        for status in statuses where !known.contains(status) {
            throw ValidationError(
                "--status '\(status)' is not a disposition; use one of \(known.sorted().joined(separator: ", "))"
            )
        }
        guard ReportOptions.Sort(rawValue: sort) != nil else {
            throw ValidationError("--sort must be cost, orphaned, cluster or name")
        }
        if let noticeHours, noticeHours < 0 { throw ValidationError("--notice-hours must be 0 or more") }
    }

    func run() throws {
        let config = try filters.loadConfig()
        let now = Timestamp.systemNow()
        var options = ReportOptions(now: now)
        options.dispositions = statuses.isEmpty ? nil : Set(statuses)
        options.all = all
        options.since = filters.since.flatMap { filters.sinceTime($0, now: now) }
        options.stateMachine = stateMachine
        options.region = region
        options.account = account
        options.sort = ReportOptions.Sort(rawValue: sort) ?? .cost
        options.noticeHours = noticeHours ?? config.noticeHours ?? 24
        options.prices = config.prices
        let records: [ClusterReportRecord]
        let untracked: [UntrackedCluster]
        let notices: NoticeStore.Counts
        do {
            let ledger = try Ledger.openReadOnly(path: database.database ?? config.database ?? database.resolvedPath())
            records = try ledger.clusters.reportRecords()
            untracked = try ledger.clusters.untracked()
            notices = try ledger.notices.counts()
        } catch {
            printError("costguard: \(error)")
            throw ExitCode(ExitStatus.ledgerUnavailable.rawValue)
        }
        let report = ReportBuilder.build(records, untracked: untracked, options: options)
        switch ReportFormatter.Format(rawValue: filters.format) ?? .table {
        case .json: StandardStream.output(ReportFormatter.json(report) + "\n")
        case .csv: StandardStream.output(ReportFormatter.csv(report))
        case .table:
            StandardStream.output(ReportFormatter.table(report, color: useColor()))
            // Notices that could not be delivered are never silent (the metric and the log say so too).
            if notices.pending + notices.failed > 0 {
                StandardStream.output(
                    "\nNotices: \(notices.delivered) delivered, \(notices.pending) waiting, \(notices.failed) given up "
                        + "(the log names each error; costguard_notices_failed)\n"
                )
            }
        }
    }
}

/// `costguard journal`: the audit trail.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Show the audit trail: the intent and outcome of every mutating call, and dry-run decisions.",
        discussion: """
            Reads the ledger only. Every TerminateJobFlows or SetTerminationProtection call has an intent row \
            (written and committed before the call) and an outcome row (result, request id, error). Decisions that \
            made no call (would-terminate in a dry run, deferred, protected) are decision rows.

            Examples:
              costguard journal --since 24h
              costguard journal --cluster j-2AXXXXXXGAPLF --format json
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var filters: ReportFilters

    @Option(help: ArgumentHelp("Only this cluster.", valueName: "id"))
    var cluster: String?

    @Option(
        help: ArgumentHelp(
            "Only this action (terminate, unprotect, would-terminate, deferred, protected).",
            valueName: "action"
        )
    )
    var action: String?

    func run() throws {
        let config = try filters.loadConfig()
        let rows: [JournalRow]
        do {
            rows = try Ledger.openReadOnly(path: database.database ?? config.database ?? database.resolvedPath())
                .journal.reportRows(
                    since: filters.since.flatMap { filters.sinceTime($0, now: Timestamp.systemNow()) },
                    cluster: cluster,
                    action: action
                )
        } catch {
            printError("costguard: \(error)")
            throw ExitCode(ExitStatus.ledgerUnavailable.rawValue)
        }
        let text = ReportFormatter.journal(
            rows.map(JournalEntryView.init),
            format: ReportFormatter.Format(rawValue: filters.format) ?? .table
        )
        StandardStream.output(filters.format == "json" ? text + "\n" : text)
    }
}

/// Colour only on a terminal, and never with NO_COLOR.
func useColor() -> Bool {
    let environment = currentEnvironment()
    if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
    return isatty(1) == 1 && environment["TERM"] != "dumb"
}
