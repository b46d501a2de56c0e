// libFuzzer entry point for CostGuard's parsers of untrusted input, compiled by Tests/Fuzz/run.sh together with
// the sources of CostGuardCore and the AWS response shapes (one module). The target is chosen by
// COSTGUARD_FUZZ_TARGET:
//   config      the configuration file parser (ConfigFile.parse)
//   definition  the ASL definition analysis (DefinitionAnalysis.analyze)
//   history     GetExecutionHistory answers: decoded as AWS sends them, then history analysis, resumed mid-way
//   emr         ListClusters / DescribeCluster / ListInstanceGroups answers, decoded
//   lists       ListExecutions / ListClusters answers read by JSONReader and decoded by JSONDecoder: whatever the
//               reader takes, JSONDecoder must take with equal values (the reader may refuse more: it is strict JSON
//               also where JSONDecoder skips); a disagreement is a finding
// A crash, a hang or an address-sanitizer report is a finding; each becomes a file under
// Tests/Fuzz/regressions/<target>/ that run.sh replays on every run.
internal import Foundation

let fuzzTarget = ProcessInfo.processInfo.environment["COSTGUARD_FUZZ_TARGET"] ?? "config"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    switch fuzzTarget {
    case "config":
        _ = try? ConfigFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.toml")
    case "definition":
        if case .success(let analysis) = DefinitionAnalysis.analyze(String(decoding: bytes, as: UTF8.self)) {
            _ = analysis.touchesEMR
        }
    case "history":
        // As the client does: only well-formed JSON reaches JSONDecoder (see JSONReader.validate).
        guard (try? JSONReader.validate(bytes)) != nil,
            let page = try? JSONDecoder().decode(SFN.GetExecutionHistoryOutput.self, from: Data(bytes))
        else { return 0 }
        let facts = page.events.map(\.fact)
        var whole = HistoryAnalyzer()
        whole.read(facts)
        _ = whole.finish(executionEnded: true)
        // The same events read in two pages, resuming after the first half: must not crash either.
        let half = facts.count / 2
        var first = HistoryAnalyzer()
        first.read(Array(facts.prefix(half)))
        var resumed = HistoryAnalyzer(resumingAfter: first.finish(executionEnded: false).lastEventID)
        resumed.read(Array(facts.dropFirst(half)))
        _ = resumed.finish(executionEnded: false)
    case "emr":
        guard (try? JSONReader.validate(bytes)) != nil else { return 0 }  // as the client does
        let data = Data(bytes)
        _ = try? JSONDecoder().decode(EMR.ListClustersOutput.self, from: data)
        _ = try? JSONDecoder().decode(EMR.DescribeClusterOutput.self, from: data)
        _ = try? JSONDecoder().decode(EMR.ListInstanceGroupsOutput.self, from: data)
    case "lists":
        // JSONDecoder is consulted only for what the reader takes (well-formed JSON): on some malformed input it traps
        // (swift-foundation's JSONScanner, computing an error's source location in deeply nested arrays — found by
        // this target, kept in regressions/lists/). The reader never hands such input on.
        let data = Data(bytes)
        if let executions = try? JSONReader.read(
            bytes,
            { (reader: inout JSONReader) throws(JSONReadError) in
                try SFN.ListExecutionsOutput(reading: &reader)
            }
        ) {
            guard executions == (try? JSONDecoder().decode(SFN.ListExecutionsOutput.self, from: data)) else {
                fatalError("JSONReader and JSONDecoder disagree on a ListExecutions answer")
            }
        }
        if let clusters = try? JSONReader.read(
            bytes,
            { (reader: inout JSONReader) throws(JSONReadError) in
                try EMR.ListClustersOutput(reading: &reader)
            }
        ) {
            guard clusters == (try? JSONDecoder().decode(EMR.ListClustersOutput.self, from: data)) else {
                fatalError("JSONReader and JSONDecoder disagree on a ListClusters answer")
            }
        }
    default:
        fatalError("unknown COSTGUARD_FUZZ_TARGET \(fuzzTarget)")
    }
    return 0
}
