/// An EMR cluster state (`ClusterState` in the EMR API), plus `unknown` for a cluster not yet observed.
public enum ClusterState: String, Sendable, Hashable, CaseIterable, Codable {
    case unknown = "UNKNOWN"
    case starting = "STARTING"
    case bootstrapping = "BOOTSTRAPPING"
    case running = "RUNNING"
    case waiting = "WAITING"
    case terminating = "TERMINATING"
    case terminated = "TERMINATED"
    case terminatedWithErrors = "TERMINATED_WITH_ERRORS"

    /// States in which a termination request makes sense: the cluster is up (or coming up) and billing.
    public var isActive: Bool {
        switch self {
        case .starting, .bootstrapping, .running, .waiting: return true
        case .unknown, .terminating, .terminated, .terminatedWithErrors: return false
        }
    }

    /// States that cost money: the active ones and TERMINATING (EMR bills until the cluster is terminated).
    public var isBilling: Bool { isActive || self == .terminating }

    /// TERMINATED or TERMINATED_WITH_ERRORS.
    public var hasEnded: Bool { self == .terminated || self == .terminatedWithErrors }
}
