/// What a state machine definition (Amazon States Language JSON) can do to EMR clusters.
public struct DefinitionAnalysis: Sendable, Equatable {
    /// A Task creates clusters (`createCluster`, `aws-sdk:emr:runJobFlow`).
    public var createsClusters = false
    /// A Task adds steps to, modifies, protects or terminates clusters.
    public var referencesClusters = false
    /// A Task starts child executions (followed like any execution).
    public var startsExecutions = false
    /// A Map state runs in DISTRIBUTED mode (child executions under Map Runs).
    public var hasDistributedMap = false
    /// The EMR resources found, sorted, for the report.
    public var emrResources: [String] = []

    /// Nothing to EMR: fill in what is known.
    public init() {}

    /// Whether CostGuard must follow this state machine's executions.
    public var touchesEMR: Bool { createsClusters || referencesClusters || startsExecutions || hasDistributedMap }

    /// Why a definition could not be analysed.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Analyses `definition`, walking every state, Parallel branch, Map `ItemProcessor`/`Iterator`, and any other
    /// nested `States` object.
    public static func analyze(_ definition: String) -> Result<DefinitionAnalysis, Problem> {
        guard let root = (try? JSONValue(parsing: definition))?.object else {
            return .failure(Problem(description: "the definition is not a JSON object"))
        }
        guard root["States"]?.object != nil else {
            return .failure(Problem(description: "the definition has no States object"))
        }
        var analysis = DefinitionAnalysis()
        var resources: Set<String> = []
        var problems: [String] = []
        walk(root, depth: 0, into: &analysis, resources: &resources, problems: &problems)
        if let first = problems.first { return .failure(Problem(description: first)) }
        analysis.emrResources = resources.sorted()
        return .success(analysis)
    }

    private static func walk(
        _ machine: [String: JSONValue],
        depth: Int,
        into analysis: inout DefinitionAnalysis,
        resources: inout Set<String>,
        problems: inout [String]
    ) {
        guard depth < 64 else {
            problems.append("the definition nests deeper than 64 levels")
            return
        }
        guard let states = machine["States"]?.object else { return }
        for (name, value) in states {
            guard let state = value.object else {
                problems.append("state '\(name)' is not an object")
                continue
            }
            if state["Type"]?.string == "Task" {
                if let resource = state["Resource"]?.string {
                    let classified = TaskResource(arn: resource)
                    switch classified.kind {
                    case .createsCluster:
                        analysis.createsClusters = true
                        resources.insert(resource)
                    case .usesCluster:
                        analysis.referencesClusters = true
                        resources.insert(resource)
                    case .startsExecution:
                        analysis.startsExecutions = true
                    case .other:
                        break
                    }
                } else {
                    problems.append("Task state '\(name)' has no literal Resource")
                }
            }
            if let branches = state["Branches"]?.array {
                for case .object(let branch) in branches {
                    walk(branch, depth: depth + 1, into: &analysis, resources: &resources, problems: &problems)
                }
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let processor = state[key]?.object {
                    if processor["ProcessorConfig"]?["Mode"]?.string == "DISTRIBUTED" {
                        analysis.hasDistributedMap = true
                    }
                    walk(processor, depth: depth + 1, into: &analysis, resources: &resources, problems: &problems)
                }
            }
        }
    }
}
