public import CostGuardCore
public import CostGuardLedger
internal import Foundation

/// Renders reports and journals as an aligned table, JSON or CSV (RFC 4180).
public enum ReportFormatter {
    public enum Format: String, Sendable, CaseIterable {
        case table, json, csv
    }

    /// Pretty-printed JSON with sorted keys.
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    /// The report's columns for CSV, in order.
    static let csvColumns = [
        "clusterId", "clusterName", "region", "account", "executionArn", "stateMachineArn", "executionStatus",
        "executionEndedAt", "clusterState", "disposition", "orphanedSince", "actionTaken", "actionAt",
        "costPerHourUSD", "costSoFarUSD", "totalCostUSD", "savedUSD", "costBasis", "reason",
    ]

    public static func csv(_ report: Report) -> String {
        var lines = [csvColumns.joined(separator: ",")]
        for row in report.clusters {
            let values: [String?] = [
                row.clusterId, row.clusterName, row.region, row.account, row.executionArn, row.stateMachineArn,
                row.executionStatus, row.executionEndedAt, row.clusterState, row.disposition, row.orphanedSince,
                row.actionTaken, row.actionAt, money(row.costPerHourUSD), money(row.costSoFarUSD), money(row.totalCostUSD),
                money(row.savedUSD), row.costBasis, row.reason,
            ]
            lines.append(values.map { csvField($0 ?? "") }.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
    public static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func money(_ value: Double?) -> String? { value.map { String(format: "%.2f", $0) } }

    /// A table that fits 80 columns, two lines per cluster (what it costs, then why), totals at the foot; colour
    /// only when `color`.
    public static func table(_ report: Report, color: Bool) -> String {
        func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return right ? padding + text : text + padding
        }
        func time(_ iso: String?) -> String {
            iso.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") } ?? "-"
        }
        var out = ["CLUSTER          DISPOSITION          $/H   $ SO FAR  ORPHANED SINCE (UTC)"]
        for row in report.clusters {
            let disposition = color ? paint(row.disposition, disposition: row.disposition) + pad("", 15 - row.disposition.count)
                : pad(row.disposition, 15)
            out.append([
                pad(row.clusterId, 15), disposition, pad(money(row.costPerHourUSD) ?? "?", 8, right: true),
                pad(money(row.costSoFarUSD) ?? "-", 10, right: true), "", time(row.orphanedSince),
            ].joined(separator: " ").trimmingTrailingSpaces)
            let machine = row.stateMachineArn.split(separator: ":").last.map(String.init) ?? row.stateMachineArn
            var detail = "  \(row.clusterState), execution \(row.executionStatus)"
                + (row.executionEndedAt.map { " \(time($0))" } ?? "") + ", \(machine) (\(row.region))"
            if detail.count > 80 { detail = String(detail.prefix(79)) + "…" }
            out.append(detail)
        }
        if report.clusters.isEmpty { out.append("(no clusters match)") }
        let totals = report.totals
        out.append("")
        var summary = "\(totals.clusters) cluster(s):"
        for key in totals.byDisposition.keys.sorted() {
            let item = " \(key) \(totals.byDisposition[key]!),"
            if summary.count + item.count > 80 {
                out.append(summary)
                summary = " "
            }
            summary += item
        }
        out.append(String(summary.dropLast()))
        out.append(String(format: "Leaking now $%.2f/h. Spent while orphaned $%.2f. Saved by terminations $%.2f",
                          totals.costPerHourUSD, totals.costSoFarUSD, totals.savedUSD))
        out.append(String(format: "(%.0f h notice). Prices: %@.", report.noticeHours, report.priceTableAsOf))
        out.append("Everything, with reasons: costguard report --format json")
        return out.joined(separator: "\n") + "\n"
    }

    static func paint(_ text: String, disposition: String) -> String {
        let code: String
        switch disposition {
        case "orphan", "would-terminate", "deferred", "protected": code = "31"
        case "unknown", "report-only", "grace": code = "33"
        case "terminated": code = "32"
        default: code = "0"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// The journal as a table, JSON or CSV.
    public static func journal(_ rows: [JournalEntryView], format: Format) -> String {
        switch format {
        case .json:
            return json(JournalDocument(entries: rows))
        case .csv:
            let columns = ["seq", "at", "passId", "kind", "action", "clusterId", "dryRun", "result", "requestId", "errorCode", "errorMessage", "reason"]
            var lines = [columns.joined(separator: ",")]
            for r in rows {
                let values: [String] = [
                    String(r.seq), r.at, r.passId.map(String.init) ?? "", r.kind, r.action, r.clusterId ?? "", r.dryRun ? "true" : "false",
                    r.result ?? "", r.requestId ?? "", r.errorCode ?? "", r.errorMessage ?? "", r.reason,
                ]
                lines.append(values.map(csvField).joined(separator: ","))
            }
            return lines.joined(separator: "\r\n") + "\r\n"
        case .table:
            var out = ["SEQ    AT (UTC)             KIND      ACTION           CLUSTER          RESULT"]
            for r in rows {
                let at = String(r.at.prefix(19)).replacingOccurrences(of: "T", with: " ")
                out.append([String(r.seq).padded(6), at.padded(20), r.kind.padded(9), r.action.padded(16),
                            (r.clusterId ?? "-").padded(16), r.result ?? (r.dryRun ? "dry run" : "")].joined(separator: " ").trimmingTrailingSpaces)
            }
            out.append("\n\(rows.count) entr\(rows.count == 1 ? "y" : "ies"). Reasons and request ids: costguard journal --format json")
            return out.joined(separator: "\n") + "\n"
        }
    }
}

/// A journal row as the `journal` command shows it (camelCase in JSON).
public struct JournalEntryView: Codable, Sendable, Equatable {
    public var seq: Int64
    public var at: String
    public var passId: Int64?
    public var kind: String
    public var action: String
    public var clusterId: String?
    public var region: String?
    public var account: String?
    public var dryRun: Bool
    public var intentSeq: Int64?
    public var result: String?
    public var requestId: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var reason: String

    public init(_ row: CostGuardLedger.JournalRow) {
        seq = row.seq
        at = row.at
        passId = row.passID
        kind = row.kind
        action = row.record.action
        clusterId = row.record.clusterID
        region = row.record.region
        account = row.record.account
        dryRun = row.record.dryRun
        intentSeq = row.intentSeq
        result = row.result?.rawValue
        requestId = row.requestID
        errorCode = row.errorCode
        errorMessage = row.errorMessage
        reason = row.record.reason
    }
}

struct JournalDocument: Codable {
    var schemaVersion = 1
    var entries: [JournalEntryView]
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }

    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
