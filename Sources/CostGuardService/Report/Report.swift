public import CostGuardCore
public import CostGuardLedger

/// The orphan report: versioned, camelCase JSON (schema: `Deploy/schemas/report-v1.schema.json`).
public struct Report: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    public var generatedAt: String
    public var priceTableAsOf: String
    public var noticeHours: Double
    public var clusters: [Row]
    public var totals: Totals
    /// Billing clusters no followed workflow created (never acted on); absent when there are none.
    public var untracked: [UntrackedRow]?

    /// A billing cluster CostGuard cannot attribute to a workflow: its age and what it costs.
    public struct UntrackedRow: Codable, Sendable, Equatable {
        public var clusterId: String
        public var clusterName: String?
        public var region: String
        public var account: String
        public var clusterState: String
        public var createdAt: String?
        public var firstSeenAt: String?
        public var ageHours: Double?
        public var costPerHourUSD: Double?
        public var totalCostUSD: Double?
        public var costBasis: String
    }

    public struct Row: Codable, Sendable, Equatable {
        public var clusterId: String
        public var clusterName: String?
        public var region: String
        public var account: String
        public var executionArn: String
        public var stateMachineArn: String
        public var executionStatus: String
        public var executionEndedAt: String?
        public var clusterState: String
        public var disposition: String
        public var reason: String?
        public var orphanedSince: String?
        public var actionTaken: String?
        public var actionAt: String?
        /// USD per hour as last observed; null when unknown.
        public var costPerHourUSD: Double?
        /// USD spent since the cluster became an orphan (until it ended, or now).
        public var costSoFarUSD: Double?
        /// USD spent since the cluster was created.
        public var totalCostUSD: Double?
        /// Estimated USD saved by CostGuard's termination: cost per hour × the notice hours.
        public var savedUSD: Double?
        public var costBasis: String

        enum CodingKeys: String, CodingKey {
            case clusterId, clusterName, region, account, executionArn, stateMachineArn, executionStatus,
                executionEndedAt
            case clusterState, disposition, reason, orphanedSince, actionTaken, actionAt, costPerHourUSD, costSoFarUSD
            case totalCostUSD, savedUSD, costBasis
        }

        /// Like the synthesized encoding, except that the two cost figures are always present (null when unknown),
        /// as the schema requires.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(clusterId, forKey: .clusterId)
            try c.encodeIfPresent(clusterName, forKey: .clusterName)
            try c.encode(region, forKey: .region)
            try c.encode(account, forKey: .account)
            try c.encode(executionArn, forKey: .executionArn)
            try c.encode(stateMachineArn, forKey: .stateMachineArn)
            try c.encode(executionStatus, forKey: .executionStatus)
            try c.encodeIfPresent(executionEndedAt, forKey: .executionEndedAt)
            try c.encode(clusterState, forKey: .clusterState)
            try c.encode(disposition, forKey: .disposition)
            try c.encodeIfPresent(reason, forKey: .reason)
            try c.encodeIfPresent(orphanedSince, forKey: .orphanedSince)
            try c.encodeIfPresent(actionTaken, forKey: .actionTaken)
            try c.encodeIfPresent(actionAt, forKey: .actionAt)
            try c.encode(costPerHourUSD, forKey: .costPerHourUSD)
            try c.encode(costSoFarUSD, forKey: .costSoFarUSD)
            try c.encodeIfPresent(totalCostUSD, forKey: .totalCostUSD)
            try c.encodeIfPresent(savedUSD, forKey: .savedUSD)
            try c.encode(costBasis, forKey: .costBasis)
        }
    }

    public struct Totals: Codable, Sendable, Equatable {
        public var clusters: Int
        /// What the orphans among the rows cost per hour (orphan, would-terminate, protected, deferred,
        /// report-only, self-terminating): the table's "Leaking now".
        public var costPerHourUSD: Double
        public var costSoFarUSD: Double
        public var savedUSD: Double
        public var byDisposition: [String: Int]
    }
}

/// How to build a report.
public struct ReportOptions: Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        case cost, orphaned, cluster, name
    }

    /// Dispositions to show; nil: every unresolved one (all but `terminated` and `ended`), or all with `all`.
    public var dispositions: Set<String>?
    public var all = false
    /// Only clusters orphaned (or, without an orphan time, created) at or after this time.
    public var since: Timestamp?
    /// A state machine ARN or name.
    public var stateMachine: String?
    public var region: String?
    public var account: String?
    public var sort: Sort = .cost
    /// Hours a leak would likely have run before someone noticed (for the money saved). Default 24.
    public var noticeHours = 24.0
    public var prices = PriceTable()
    public var now: Timestamp

    public init(now: Timestamp) {
        self.now = now
    }
}

/// Builds the report from ledger records: filters, costs, totals. Pure.
public enum ReportBuilder {
    public static func build(
        _ records: [ClusterReportRecord],
        untracked: [UntrackedCluster] = [],
        options: ReportOptions
    ) -> Report {
        let resolved: Set<String> = ["terminated", "ended"]
        var rows: [Report.Row] = []
        for record in records {
            if let wanted = options.dispositions {
                guard wanted.contains(record.disposition) else { continue }
            } else if !options.all && resolved.contains(record.disposition) {
                continue
            }
            if let region = options.region, record.region != region { continue }
            if let account = options.account, record.account != account { continue }
            if let machine = options.stateMachine,
                record.stateMachineARN != machine && !record.stateMachineARN.hasSuffix(":stateMachine:\(machine)")
            {
                continue
            }
            if let since = options.since,
                (record.orphanedSince ?? record.createdAt).flatMap(Timestamp.init(iso8601:)).map({ $0 < since }) ?? true
            {
                continue
            }
            rows.append(row(record, options: options))
        }
        switch options.sort {
        case .cost: rows.sort { ($0.costPerHourUSD ?? -1, $1.clusterId) > ($1.costPerHourUSD ?? -1, $0.clusterId) }
        case .orphaned: rows.sort { ($0.orphanedSince ?? "~", $0.clusterId) < ($1.orphanedSince ?? "~", $1.clusterId) }
        case .cluster: rows.sort { $0.clusterId < $1.clusterId }
        case .name: rows.sort { ($0.clusterName ?? "", $0.clusterId) < ($1.clusterName ?? "", $1.clusterId) }
        }
        var byDisposition: [String: Int] = [:]
        for row in rows { byDisposition[row.disposition, default: 0] += 1 }
        // What is leaking now: the orphans among the rows (a live, shared, grace or exempt cluster is doing, or
        // allowed to do, its job; an unknown one is not proven an orphan; a resolved one no longer bills).
        let leaking = rows.filter { orphanDispositionNames.contains($0.disposition) }
        let strays = untracked.filter { cluster in
            (options.region.map { cluster.region == $0 } ?? true)
                && (options.account.map { cluster.account == $0 } ?? true)
                && options.stateMachine == nil && (options.dispositions.map { $0.contains("untracked") } ?? true)
        }.map { untrackedRow($0, options: options) }
        return Report(
            generatedAt: options.now.iso8601,
            priceTableAsOf: PriceTable.shippedAsOf,
            noticeHours: options.noticeHours,
            clusters: rows,
            totals: Report.Totals(
                clusters: rows.count,
                costPerHourUSD: round(leaking.compactMap(\.costPerHourUSD).reduce(0, +)),
                costSoFarUSD: round(rows.compactMap(\.costSoFarUSD).reduce(0, +)),
                savedUSD: round(rows.compactMap(\.savedUSD).reduce(0, +)),
                byDisposition: byDisposition
            ),
            untracked: strays.isEmpty ? nil : strays
        )
    }

    static func untrackedRow(_ cluster: UntrackedCluster, options: ReportOptions) -> Report.UntrackedRow {
        let age = cluster.createdAt.map { hours(from: $0, to: options.now) }
        let estimate = CostEstimate.estimate(
            units: [],
            region: cluster.region,
            prices: options.prices,
            normalizedInstanceHours: cluster.normalizedInstanceHours,
            hoursRunning: age ?? 0
        )
        return Report.UntrackedRow(
            clusterId: cluster.id,
            clusterName: cluster.name,
            region: cluster.region,
            account: cluster.account,
            clusterState: cluster.state,
            createdAt: cluster.createdAt?.iso8601,
            firstSeenAt: cluster.firstSeenAt?.iso8601,
            ageHours: age.map(round),
            costPerHourUSD: estimate.perHour.map(round),
            totalCostUSD: estimate.perHour.flatMap { rate in age.map { round(rate * $0) } },
            costBasis: estimate.basis
        )
    }

    static func row(_ record: ClusterReportRecord, options: ReportOptions) -> Report.Row {
        let end =
            (record.endedAt ?? (record.disposition == "terminated" ? record.dispositionAt : nil))
            .flatMap(Timestamp.init(iso8601:)) ?? options.now
        let hoursRunning = record.createdAt.flatMap(Timestamp.init(iso8601:)).map { hours(from: $0, to: end) } ?? 0
        let estimate = CostEstimate.estimate(
            units: record.capacity.map {
                .init(instanceType: $0.instanceType, spot: $0.market == "SPOT", instances: $0.instances)
            },
            region: record.region,
            prices: options.prices,
            normalizedInstanceHours: record.normalizedInstanceHours,
            hoursRunning: hoursRunning
        )
        let perHour = estimate.perHour
        let orphanHours = record.orphanedSince.flatMap(Timestamp.init(iso8601:)).map { hours(from: $0, to: end) }
        return Report.Row(
            clusterId: record.clusterID,
            clusterName: record.name,
            region: record.region,
            account: record.account,
            executionArn: record.executionARN,
            stateMachineArn: record.stateMachineARN,
            executionStatus: record.executionStatus,
            executionEndedAt: record.executionEndedAt,
            clusterState: record.clusterState,
            disposition: record.disposition,
            reason: record.reason,
            orphanedSince: record.orphanedSince,
            actionTaken: record.lastAction,
            actionAt: record.lastActionAt,
            costPerHourUSD: perHour.map(round),
            costSoFarUSD: perHour.flatMap { rate in orphanHours.map { round(rate * $0) } },
            totalCostUSD: perHour.map { round($0 * hoursRunning) },
            savedUSD: record.disposition == "terminated" ? perHour.map { round($0 * options.noticeHours) } : nil,
            costBasis: estimate.basis
        )
    }

    static func hours(from start: Timestamp, to end: Timestamp) -> Double {
        max(0, Double(end.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / 3_600_000)
    }

    /// Cents.
    static func round(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}

extension ReportBuilder {
    /// The dispositions whose cost is a leak: orphans, however the policy handles them. Live, shared, grace and
    /// exempt clusters are doing (or allowed to do) their job; an unknown one is not proven an orphan.
    public static let orphanDispositions: [Disposition] = [
        .orphan, .wouldTerminate, .protected, .deferred, .reportOnly, .selfTerminating,
    ]
    static let orphanDispositionNames = Set(orphanDispositions.map(\.rawValue))

    /// What the orphans cost per hour (the daemon's `costguard_orphan_cost_per_hour_usd`, the report's "Leaking
    /// now"), read by disposition (indexed): a pass with no orphan reads no cluster row for it.
    public static func orphanCostPerHour(_ ledger: Ledger, now: Timestamp) throws(LedgerError) -> Double {
        build(
            try ledger.clusters.reportRecords(dispositions: orphanDispositions.map(\.rawValue)),
            options: ReportOptions(now: now)
        )
        .totals.costPerHourUSD
    }
}
