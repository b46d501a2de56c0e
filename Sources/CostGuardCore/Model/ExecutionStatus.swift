/// A Step Functions execution status, as `DescribeExecution` and `ListExecutions` report it.
public enum ExecutionStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case timedOut = "TIMED_OUT"
    case aborted = "ABORTED"
    /// Only for child executions of a Map Run that is being redriven.
    case pendingRedrive = "PENDING_REDRIVE"

    /// `true` once the execution has stopped (it may still come back through a redrive).
    public var hasEnded: Bool {
        switch self {
        case .running, .pendingRedrive: return false
        case .succeeded, .failed, .timedOut, .aborted: return true
        }
    }
}

/// Whether an ended execution can still be redriven back to RUNNING (`DescribeExecution.redriveStatus`).
public enum RedriveStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case redrivable = "REDRIVABLE"
    case notRedrivable = "NOT_REDRIVABLE"
    case redrivableByMapRun = "REDRIVABLE_BY_MAP_RUN"
}
