import CostGuardCore
import CostGuardLedger

extension Reconciler {
    /// The orphan notices of the clusters that became `grace` or `orphan` this pass (from anything else): written
    /// with their new disposition, once per cluster. None in a dry run or with no channel configured.
    func orphanNotices(_ decisions: [Decision]) throws(LedgerError) -> [String: Notice] {
        guard !configuration.notify.isEmpty, !configuration.policy.dryRun else { return [:] }
        let found = decisions.filter { $0.disposition == .grace || $0.disposition == .orphan }
        guard !found.isEmpty else { return [:] }
        let previous = try ledger.decisions.dispositions(of: found.map(\.clusterID))
        let fresh = found.filter { decision in
            let before = previous[decision.clusterID]
            return before != Disposition.grace.rawValue && before != Disposition.orphan.rawValue
        }
        guard !fresh.isEmpty else { return [:] }
        let rows = try reportRows(fresh.map(\.clusterID))
        let at = now()
        var notices: [String: Notice] = [:]
        for decision in fresh {
            notices[decision.clusterID] = NoticeText.orphan(decision, row: rows[decision.clusterID], now: at)
        }
        return notices
    }

    /// The terminated notices of a chunk AWS accepted.
    func terminatedNotices(_ chunk: some Collection<Decision>, requestID: String?) throws(LedgerError) -> [Notice] {
        guard !configuration.notify.isEmpty else { return [] }
        let rows = try reportRows(chunk.map(\.clusterID))
        return chunk.map { NoticeText.terminated($0, row: rows[$0.clusterID], requestID: requestID) }
    }

    /// The terminated notice of a termination completed after a restart (the crash may have come before its notice
    /// was written; the outbox keeps one per cluster either way).
    func restartNotices(_ record: JournalRecord, clusterID: String) throws(LedgerError) -> [Notice] {
        guard !configuration.notify.isEmpty else { return [] }
        let scope = Scope(account: record.account ?? "", region: record.region ?? "")
        let row = try reportRows([clusterID])[clusterID]
        return [NoticeText.terminated(clusterID, in: scope, reason: record.reason, row: row, requestID: nil)]
    }

    /// The report's rows (name, cost per hour, cost since orphaned) of these clusters.
    func reportRows(_ ids: [String]) throws(LedgerError) -> [String: Report.Row] {
        let wanted = Set(ids)
        var options = ReportOptions(now: now())
        options.prices = configuration.prices
        var rows: [String: Report.Row] = [:]
        for record in try ledger.clusters.reportRecords() where wanted.contains(record.clusterID) {
            rows[record.clusterID] = ReportBuilder.row(record, options: options)
        }
        return rows
    }
}
