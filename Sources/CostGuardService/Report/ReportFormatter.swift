import CostGuardCore
public import CostGuardLedger

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

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

    /// The report as pretty-printed JSON with sorted keys, written by hand: JSONEncoder takes seconds on the report
    /// of 100,000 clusters. The shape is `Report`'s Codable one (Deploy/schemas/report-v1.schema.json).
    public static func json(_ report: Report) -> String {
        var out = ""
        out.reserveCapacity(700 * (report.clusters.count + 2))
        out += "{\n  \"clusters\": ["
        for (index, row) in report.clusters.enumerated() {
            out += index == 0 ? "\n    {" : ",\n    {"
            var fields: [(String, String)] = [
                ("account", quoted(row.account)), ("clusterId", quoted(row.clusterId)),
                ("clusterState", quoted(row.clusterState)), ("costBasis", quoted(row.costBasis)),
                ("costPerHourUSD", number(row.costPerHourUSD)), ("costSoFarUSD", number(row.costSoFarUSD)),
                ("disposition", quoted(row.disposition)), ("executionArn", quoted(row.executionArn)),
                ("executionStatus", quoted(row.executionStatus)), ("region", quoted(row.region)),
                ("stateMachineArn", quoted(row.stateMachineArn)),
            ]
            let optional: [(String, String?)] = [
                ("actionAt", row.actionAt.map(quoted)), ("actionTaken", row.actionTaken.map(quoted)),
                ("clusterName", row.clusterName.map(quoted)), ("executionEndedAt", row.executionEndedAt.map(quoted)),
                ("orphanedSince", row.orphanedSince.map(quoted)), ("reason", row.reason.map(quoted)),
                ("savedUSD", row.savedUSD.map { number($0) }), ("totalCostUSD", row.totalCostUSD.map { number($0) }),
            ]
            for case let (key, value?) in optional { fields.append((key, value)) }
            fields.sort { $0.0 < $1.0 }
            for (offset, field) in fields.enumerated() {
                out += (offset == 0 ? "\n      \"" : ",\n      \"") + field.0 + "\": " + field.1
            }
            out += "\n    }"
        }
        out += report.clusters.isEmpty ? "],\n" : "\n  ],\n"
        out += "  \"generatedAt\": \(quoted(report.generatedAt)),\n"
        out += "  \"noticeHours\": \(number(report.noticeHours)),\n"
        out += "  \"priceTableAsOf\": \(quoted(report.priceTableAsOf)),\n"
        out += "  \"schemaVersion\": \(report.schemaVersion),\n"
        let totals = report.totals
        out += "  \"totals\": {\n    \"byDisposition\": {"
        for (offset, key) in totals.byDisposition.keys.sorted().enumerated() {
            out += (offset == 0 ? "\n      " : ",\n      ") + quoted(key) + ": \(totals.byDisposition[key]!)"
        }
        out += totals.byDisposition.isEmpty ? "},\n" : "\n    },\n"
        out += "    \"clusters\": \(totals.clusters),\n"
        out += "    \"costPerHourUSD\": \(number(totals.costPerHourUSD)),\n"
        out += "    \"costSoFarUSD\": \(number(totals.costSoFarUSD)),\n"
        out += "    \"savedUSD\": \(number(totals.savedUSD))\n  }"
        if let untracked = report.untracked {
            out += ",\n  \"untracked\": ["
            for (index, row) in untracked.enumerated() {
                var fields: [(String, String)] = [
                    ("account", quoted(row.account)), ("clusterId", quoted(row.clusterId)),
                    ("clusterState", quoted(row.clusterState)), ("costBasis", quoted(row.costBasis)),
                    ("costPerHourUSD", number(row.costPerHourUSD)), ("region", quoted(row.region)),
                ]
                let optional: [(String, String?)] = [
                    ("ageHours", row.ageHours.map { number($0) }), ("clusterName", row.clusterName.map(quoted)),
                    ("createdAt", row.createdAt.map(quoted)), ("firstSeenAt", row.firstSeenAt.map(quoted)),
                    ("totalCostUSD", row.totalCostUSD.map { number($0) }),
                ]
                for case let (key, value?) in optional { fields.append((key, value)) }
                fields.sort { $0.0 < $1.0 }
                out += index == 0 ? "\n    {" : ",\n    {"
                for (offset, field) in fields.enumerated() {
                    out += (offset == 0 ? "\n      \"" : ",\n      \"") + field.0 + "\": " + field.1
                }
                out += "\n    }"
            }
            out += "\n  ]"
        }
        out += "\n}"
        return out
    }

    /// A JSON number with at most two decimals, or null.
    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return money(value) ?? "null"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String { JSONText.quoted(text) }

    /// The report's columns for CSV, in order.
    static let csvColumns = [
        "clusterId", "clusterName", "region", "account", "executionArn", "stateMachineArn", "executionStatus",
        "executionEndedAt", "clusterState", "disposition", "orphanedSince", "actionTaken", "actionAt",
        "costPerHourUSD", "costSoFarUSD", "totalCostUSD", "savedUSD", "costBasis", "reason",
    ]

    public static func csv(_ report: Report) -> String {
        var out = csvColumns.joined(separator: ",") + "\r\n"
        out.reserveCapacity(300 * (report.clusters.count + 1))
        for row in report.clusters {
            let values: [String?] = [
                row.clusterId, row.clusterName, row.region, row.account, row.executionArn, row.stateMachineArn,
                row.executionStatus, row.executionEndedAt, row.clusterState, row.disposition, row.orphanedSince,
                row.actionTaken, row.actionAt, money(row.costPerHourUSD), money(row.costSoFarUSD),
                money(row.totalCostUSD),
                money(row.savedUSD), row.costBasis, row.reason,
            ]
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                out += csvField(value ?? "")
            }
            out += "\r\n"
        }
        return out
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
    public static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 })
        else {
            return text
        }
        return "\"" + text.replacingEvery("\"", with: "\"\"") + "\""
    }

    /// `12.30`: two decimals, without Foundation's formatter (called for every row of large reports).
    static func money(_ value: Double?) -> String? {
        guard let value, value.isFinite else { return nil }
        return DecimalText.twoDecimals(value)
    }

    /// A table that fits 80 columns, two lines per cluster (what it costs, then why), totals at the foot; colour
    /// only when `color`. Built in one buffer: the report of 100,000 clusters is ~10 MB of text.
    public static func table(_ report: Report, color: Bool) -> String {
        var out = ""
        out.reserveCapacity(120 * (report.clusters.count + 8))
        func append(_ text: String, width: Int, right: Bool = false) {
            let count = text.utf8.count
            if right { for _ in count..<max(count, width) { out.append(" ") } }
            out.append(text)
            if !right { for _ in count..<max(count, width) { out.append(" ") } }
        }
        func time(_ iso: String?) -> String { shortTime(iso) }
        out.append("CLUSTER          DISPOSITION          $/H   $ SO FAR  ORPHANED SINCE (UTC)\n")
        for row in report.clusters {
            append(row.clusterId, width: 17)
            if color {
                out.append(paint(row.disposition, disposition: row.disposition))
                for _ in row.disposition.utf8.count..<max(row.disposition.utf8.count, 15) { out.append(" ") }
            } else {
                append(row.disposition, width: 15)
            }
            append(money(row.costPerHourUSD) ?? "?", width: 9, right: true)
            append(money(row.costSoFarUSD) ?? "-", width: 11, right: true)
            out.append("  ")
            out.append(time(row.orphanedSince))
            out.append("\n")
            let arn = row.stateMachineArn
            let machine = arn.lastIndex(of: ":").map { String(arn[arn.index(after: $0)...]) } ?? arn
            var detail = "  " + row.clusterState + ", execution " + row.executionStatus
            if let ended = row.executionEndedAt { detail += " " + time(ended) }
            detail += ", " + machine + " (" + row.region + ")"
            if detail.utf8.count > 80 { detail = String(detail.prefix(79)) + "…" }
            out.append(detail)
            out.append("\n")
        }
        if report.clusters.isEmpty { out.append("(no clusters match)\n") }
        let totals = report.totals
        out.append("\n")
        var summary = "\(totals.clusters) cluster(s):"
        for key in totals.byDisposition.keys.sorted() {
            let item = " \(key) \(totals.byDisposition[key]!),"
            if summary.count + item.count > 80 {
                out.append(summary + "\n")
                summary = " "
            }
            summary += item
        }
        out.append(String(summary.dropLast()) + "\n")
        out.append(
            "Leaking now $\(money(totals.costPerHourUSD)!)/h. Spent while orphaned $\(money(totals.costSoFarUSD)!). "
                + "Saved by terminations $\(money(totals.savedUSD)!)\n"
        )
        out.append("(\(Int(report.noticeHours.rounded())) h notice). Prices: \(report.priceTableAsOf).\n")
        if let untracked = report.untracked {
            out.append(
                "\nUntracked: \(untracked.count) billing cluster(s) no followed workflow created (never acted on):\n"
            )
            for row in untracked {
                let cost = money(row.costPerHourUSD).map { "$\($0)/h" } ?? "cost ?"
                let age = row.ageHours.map { "\(Int($0.rounded())) h old" } ?? "age ?"
                var line = "  \(row.clusterId)  \(row.clusterState)  \(age)  \(cost)  \(row.clusterName ?? "")"
                if line.count > 80 { line = String(line.prefix(79)) + "…" }
                out.append(line + "\n")
            }
        }
        out.append("Everything, with reasons: costguard report --format json\n")
        return out
    }

    /// `2026-11-24T21:35:30.954Z` → `2026-11-24 21:35`.
    static func shortTime(_ iso: String?) -> String {
        guard let iso else { return "-" }
        let bytes = Array(iso.utf8.prefix(16))
        guard bytes.count == 16 else { return iso }
        return String(decoding: bytes[0..<10], as: UTF8.self) + " " + String(decoding: bytes[11..<16], as: UTF8.self)
    }

    static func paint(_ text: String, disposition: String) -> String {
        let code: String
        switch disposition {
        case "orphan", "would-terminate", "deferred", "protected": code = "31"
        case "unknown", "report-only", "grace", "self-terminating": code = "33"
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
            let columns = [
                "seq", "at", "passId", "kind", "action", "clusterId", "dryRun", "result", "requestId", "errorCode",
                "errorMessage", "reason",
            ]
            var lines = [columns.joined(separator: ",")]
            for r in rows {
                let values: [String] = [
                    String(r.seq), r.at, r.passId.map(String.init) ?? "", r.kind, r.action, r.clusterId ?? "",
                    r.dryRun ? "true" : "false",
                    r.result ?? "", r.requestId ?? "", r.errorCode ?? "", r.errorMessage ?? "", r.reason,
                ]
                lines.append(values.map(csvField).joined(separator: ","))
            }
            return lines.joined(separator: "\r\n") + "\r\n"
        case .table:
            var out = ["SEQ    AT (UTC)             KIND      ACTION           CLUSTER          RESULT"]
            for r in rows {
                let at = String(r.at.prefix(19)).replacingEvery("T", with: " ")
                out.append(
                    [
                        String(r.seq).padded(6), at.padded(20), r.kind.padded(9), r.action.padded(16),
                        (r.clusterId ?? "-").padded(16), r.result ?? (r.dryRun ? "dry run" : ""),
                    ].joined(separator: " ").trimmingTrailingSpaces
                )
            }
            out.append(
                "\n\(rows.count) entr\(rows.count == 1 ? "y" : "ies"). Reasons and request ids: costguard journal --format json"
            )
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
        kind = row.kind.rawValue
        action = row.record.action.rawValue
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
