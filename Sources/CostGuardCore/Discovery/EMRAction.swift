/// Where an EMR task's parameters name the cluster it acts on, by action, after the EMR API model (botocore's
/// `emr/2009-03-31/service-2.json`) and the Step Functions optimized integration.
///
/// An action that takes a cluster and names none is a problem (it may act on any cluster); an action that takes no
/// cluster (`listClusters`, `describeSecurityConfiguration`, …) is neither a reference nor a problem. An action this
/// table does not know is treated as taking a cluster (fail closed).
public enum EMRAction {
    /// How an action relates to clusters.
    public enum Target: Sendable, Equatable {
        /// The action acts on one or more clusters it must name.
        case cluster
        /// The action may name a cluster, or act on something else (`ModifyInstanceGroups` by instance group id,
        /// `DescribeJobFlows` with a filter): no cluster named is a problem only if the parameters carry ids of
        /// another kind.
        case optionalCluster
        /// The action is not about any one cluster.
        case none
    }

    /// The actions (lower-cased, without the `.sync`/`.waitForTaskToken` suffix) that take no cluster.
    static let noCluster: Set<String> = [
        "createsecurityconfiguration", "createstudio", "createstudiosessionmapping", "deletesecurityconfiguration",
        "deletestudio", "deletestudiosessionmapping", "describenotebookexecution", "describepersistentappui",
        "describereleaselabel", "describesecurityconfiguration", "describestudio", "getblockpublicaccessconfiguration",
        "getpersistentappuipresignedurl", "getstudiosessionmapping", "listclusters", "listnotebookexecutions",
        "listreleaselabels", "listsecurityconfigurations", "liststudiosessionmappings", "liststudios",
        "listsupportedinstancetypes", "putblockpublicaccessconfiguration", "stopnotebookexecution", "updatestudio",
        "updatestudiosessionmapping",
    ]

    /// The actions whose cluster is optional in the API model.
    static let optionalCluster: Set<String> = ["describejobflows", "modifyinstancegroups"]

    /// What `action` (an SDK or optimized-integration action name, any case) acts on.
    public static func target(of action: String) -> Target {
        let name = action.lowercased()
        if noCluster.contains(name) { return .none }
        if optionalCluster.contains(name) { return .optionalCluster }
        return .cluster
    }

    /// The cluster ids an EMR task's parameters name: `ClusterId`, `JobFlowId`, `JobFlowIds`, `ResourceId` (tags),
    /// `ExecutionEngine.Id` (notebook executions), and cluster ARNs in `TargetResourceArn`/`ClusterArn`.
    public static func clusterIDs(in parameters: JSONValue) -> [String] {
        guard let object = parameters.object else { return [] }
        var ids: [String] = []
        func take(_ value: JSONValue?) {
            guard let text = value?.string else { return }
            if let id = clusterID(fromIDOrARN: text), !ids.contains(id) { ids.append(id) }
        }
        for key in ["ClusterId", "JobFlowId", "ResourceId", "TargetResourceArn", "ClusterArn"] { take(object[key]) }
        for value in object["JobFlowIds"]?.array ?? [] { take(value) }
        take(object["ExecutionEngine"]?["Id"])
        return ids
    }

    /// `j-…` itself, or the id at the end of a cluster ARN (`arn:aws:elasticmapreduce:r:a:cluster/j-…`).
    static func clusterID(fromIDOrARN text: String) -> String? {
        if text.hasPrefix("j-") { return text }
        if text.hasPrefix("arn:"), let range = text.firstRange(of: ":cluster/j-") {
            return String(text[text.index(range.lowerBound, offsetBy: ":cluster/".count)...])
        }
        return nil
    }

    /// Whether the parameters name, where a cluster could be named, another kind of resource (`AddTags` on a
    /// studio: `ResourceId` `es-…`): the call is not about a cluster.
    public static func namesNonClusterResource(_ parameters: JSONValue) -> Bool {
        guard let resource = parameters["ResourceId"]?.string else { return false }
        return clusterID(fromIDOrARN: resource) == nil && !resource.isEmpty
    }

    /// The instance group and fleet ids (`ig-…`, `if-…`) the parameters name, where the EMR API model puts them:
    /// `InstanceGroups[].InstanceGroupId`, `InstanceGroupId`, `InstanceFleet.InstanceFleetId`, `InstanceFleetId`.
    /// Empty when any id there is not such a string (the caller then cannot tell the cluster: a problem).
    public static func unitIDs(in parameters: JSONValue) -> [String] {
        guard let object = parameters.object else { return [] }
        var values: [JSONValue?] = (object["InstanceGroups"]?.array ?? []).map { $0["InstanceGroupId"] }
        values += [object["InstanceGroupId"], object["InstanceFleet"]?["InstanceFleetId"], object["InstanceFleetId"]]
        var ids: [String] = []
        for value in values {
            guard let value else { continue }
            guard let id = value.string, id.hasPrefix("ig-") || id.hasPrefix("if-") else { return [] }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Whether parameters that name no cluster still carry ids of another kind (instance groups, instance fleets)
    /// that belong to some cluster CostGuard cannot tell.
    public static func namesOtherEMRResources(_ parameters: JSONValue) -> Bool {
        guard let object = parameters.object else { return false }
        if let groups = object["InstanceGroups"]?.array,
            groups.contains(where: { $0["InstanceGroupId"] != nil })
        {
            return true
        }
        return object["InstanceGroupId"] != nil || object["InstanceFleet"]?["InstanceFleetId"] != nil
            || object["InstanceFleetId"] != nil
    }
}

/// Cluster ids mentioned anywhere in a JSON document's strings (an execution's input, a task's parameters, the
/// variables a state assigned): how a cluster id travels from one execution to another.
public enum ClusterMentions {
    /// Every `j-XXXXXXXX…` token (eight or more upper-case letters or digits after `j-`, not part of a longer word)
    /// in the strings of `text` (JSON), in order of first appearance. Text that is not JSON is scanned whole.
    public static func ids(inJSON text: String) -> [String] {
        guard text.utf8.count >= 10 else { return [] }
        var found: [String] = []
        if let value = try? JSONValue(parsing: text) {
            collect(value, into: &found, depth: 0)
        } else {
            scan(text, into: &found)
        }
        return found
    }

    private static func collect(_ value: JSONValue, into found: inout [String], depth: Int) {
        guard depth < 128 else { return }
        switch value {
        case .string(let text): scan(text, into: &found)
        case .array(let items): for item in items { collect(item, into: &found, depth: depth + 1) }
        case .object(let members):
            for key in members.keys.sorted() {
                scan(key, into: &found)
                collect(members[key]!, into: &found, depth: depth + 1)
            }
        default: break
        }
    }

    /// Finds the tokens in one string, on its UTF-8 bytes.
    static func scan(_ text: String, into found: inout [String]) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10 else { return }
        func isWord(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "j"), bytes[index + 1] == UInt8(ascii: "-"),
                index == 0 || !isWord(bytes[index - 1])
            else {
                index += 1
                continue
            }
            var end = index + 2
            while end < bytes.count,
                (bytes[end] >= 0x30 && bytes[end] <= 0x39) || (bytes[end] >= 0x41 && bytes[end] <= 0x5A)
            {
                end += 1
            }
            let length = end - index - 2
            if length >= 8 && (end == bytes.count || !isWord(bytes[end])) {
                let id = String(decoding: bytes[index..<end], as: UTF8.self)
                if !found.contains(id) { found.append(id) }
            }
            index = max(end, index + 1)
        }
    }
}
