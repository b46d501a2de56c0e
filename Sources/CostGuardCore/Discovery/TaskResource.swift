/// A Task state's `Resource`, classified by what it can do to EMR clusters or child executions.
public struct TaskResource: Sendable, Hashable {
    /// What the resource is.
    public enum Kind: Sendable, Hashable {
        /// Creates a cluster: `elasticmapreduce:createCluster[.sync]` or `aws-sdk:emr:runJobFlow`.
        case createsCluster
        /// Any other EMR task; names a cluster in its parameters.
        case usesCluster(action: String)
        /// Starts a child execution: `states:startExecution[.sync[:2]]` or `aws-sdk:sfn:startExecution`.
        case startsExecution
        /// Anything else.
        case other
    }

    public let kind: Kind

    /// Classifies a resource ARN (`arn:<partition>:states:::<service>:<action>[.<pattern>]`) or a history event's
    /// `resourceType` + `resource` pair (`elasticmapreduce` + `createCluster.sync`).
    public init(arn: String) {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        // arn : partition : states : (region) : (account) : service : action[.pattern] [: sdk action]
        guard parts.count >= 7, parts[0] == "arn", parts[2] == "states", parts[3].isEmpty, parts[4].isEmpty else {
            self.init(resourceType: "", resource: "")
            return
        }
        let service = String(parts[5])
        let rest = parts[6...].joined(separator: ":")
        if service == "aws-sdk" {
            self.init(resourceType: "aws-sdk:" + parts[6], resource: parts[7...].joined(separator: ":"))
        } else {
            self.init(resourceType: service, resource: rest)
        }
    }

    /// Classifies a history event's `resourceType` and `resource`.
    public init(resourceType: String, resource: String) {
        let action = String(resource.split(separator: ".").first ?? Substring(resource))
        switch resourceType {
        case "elasticmapreduce":
            kind = action == "createCluster" ? .createsCluster : .usesCluster(action: action)
        case "aws-sdk:emr":
            kind = action.lowercased() == "runjobflow" ? .createsCluster : .usesCluster(action: action)
        case "states":
            kind = action == "startExecution" ? .startsExecution : .other
        case "aws-sdk:sfn":
            kind = action.lowercased() == "startexecution" ? .startsExecution : .other
        default:
            kind = .other
        }
    }

    /// `true` for any EMR task.
    public var isEMR: Bool {
        switch kind {
        case .createsCluster, .usesCluster: return true
        default: return false
        }
    }
}
