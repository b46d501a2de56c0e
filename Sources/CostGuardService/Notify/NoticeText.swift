public import CostGuardCore

/// The words of the notices. Pure: built from the policy's decision and the report's row for the cluster.
public enum NoticeText {
    /// A cluster found orphaned: why, what it costs, when it will be terminated, the one command that keeps it.
    public static func orphan(_ decision: Decision, row: Report.Row?, now: Timestamp) -> Notice {
        let when =
            decision.actAfter.map { $0 > now ? "at \($0.iso8601) (end of its grace period)" : "at the next pass" }
            ?? "at the next pass"
        let text =
            "CostGuard: EMR cluster \(name(decision.clusterID, row)) in \(decision.scope) is left over: "
            + "\(decision.reason). \(cost(row))CostGuard will terminate it \(when) unless it is kept: "
            + "aws emr add-tags --region \(decision.scope.region) --resource-id \(decision.clusterID) "
            + "--tags costguard:exempt=true"
        return Notice(kind: .orphan, clusterID: decision.clusterID, text: text)
    }

    /// A cluster CostGuard terminated, with AWS's request id.
    public static func terminated(_ decision: Decision, row: Report.Row?, requestID: String?) -> Notice {
        terminated(decision.clusterID, in: decision.scope, reason: decision.reason, row: row, requestID: requestID)
    }

    /// A cluster CostGuard terminated, by its journal record's facts (a termination completed after a restart).
    public static func terminated(
        _ clusterID: String,
        in scope: Scope,
        reason: String,
        row: Report.Row?,
        requestID: String?
    ) -> Notice {
        let text =
            "CostGuard terminated EMR cluster \(name(clusterID, row)) in \(scope)"
            + (requestID.map { " (TerminateJobFlows request \($0))" } ?? "") + ": \(reason). \(cost(row))"
        return Notice(kind: .terminated, clusterID: clusterID, text: text.trimmingWhitespaceAndNewlines)
    }

    static func name(_ id: String, _ row: Report.Row?) -> String {
        guard let name = row?.clusterName, !name.isEmpty else { return id }
        return "\(id) (\(name))"
    }

    static func cost(_ row: Report.Row?) -> String {
        guard let perHour = row?.costPerHourUSD else { return "" }
        let sofar = row?.costSoFarUSD.map { ", \(dollars($0)) since it was orphaned" } ?? ""
        return "It costs \(dollars(perHour)) per hour\(sofar). "
    }

    static func dollars(_ value: Double) -> String { "$" + DecimalText.twoDecimals(value) }
}
