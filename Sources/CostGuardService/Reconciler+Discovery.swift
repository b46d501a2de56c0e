import AWSClients
import CostGuardCore
import CostGuardLedger
internal import Crypto

extension Reconciler {
    /// Lists state machines, reads new or stale definitions, and follows the executions of those that touch EMR.
    func discover(_ region: RegionClients, problems: inout Problems) async throws(LedgerError) {
        let listed: [SFN.StateMachineListItem]
        do {
            listed = try await region.sfn.listStateMachines().collect().flatMap(\.stateMachines)
        } catch {
            problems.add("ListStateMachines in \(region.region): \(error)", region: region.region, reach: .region)
            logger.warning("discovery failed", metadata: ["region": "\(region.region)", "error": "\(error)"])
            return
        }
        try ledger.stateMachines.recordSeen(
            listed.map {
                (
                    arn: $0.stateMachineArn, name: $0.name, region: region.region,
                    account: Self.account(of: $0.stateMachineArn), type: $0.type
                )
            },
            at: now()
        )
        var known = try ledger.stateMachines.all()
        var definitionsRead = false
        // Machines already known whose definition is due for its refresh: their redriven executions are checked too,
        // on the same cadence (a redrive that starts and ends between two passes is otherwise not seen).
        var redriveCheckDue: Set<String> = []
        for item in listed {
            let row = known[item.stateMachineArn]
            let stale = row?.definitionReadAt.map { now().since($0) > configuration.definitionRefresh } ?? true
            guard row?.definitionStatus != .parsed || stale else { continue }
            if row?.newestExecutionStart != nil { redriveCheckDue.insert(item.stateMachineArn) }
            do {
                let described = try await region.sfn.describeStateMachine(item.stateMachineArn)
                let sha = SHA256.hash(data: Array(described.definition.utf8)).map { String(format2: $0) }.joined()
                var analysis = DefinitionAnalysis.analyze(described.definition)
                // Versions are listed when the machine is new or its revision changed: a version published since
                // holds either this revision's definition (already read) or an earlier one, seen at its change.
                let revisionChanged = row?.revisionID == nil || row?.revisionID != described.revisionId
                var revision = described.revisionId
                if described.type != "EXPRESS", case .success(let latest) = analysis {
                    let versions = try await withVersions(
                        latest,
                        of: item.stateMachineArn,
                        listing: revisionChanged,
                        region: region,
                        problems: &problems
                    )
                    analysis = .success(versions.analysis)
                    // Not listed after all: no revision recorded, so that the next refresh lists them.
                    if !versions.listed { revision = nil }
                }
                try ledger.stateMachines.recordDefinition(
                    arn: item.stateMachineArn,
                    revisionID: revision,
                    sha256: sha,
                    type: described.type,
                    analysis: analysis,
                    at: now()
                )
                definitionsRead = true
            } catch let error as LedgerError {
                throw error
            } catch let caught {
                let error = Reconciler.awsError(caught)
                if error.isAccessRefusal {
                    // Its definition cannot be read (AccessDenied, a KMS key CostGuard may not use): it is followed as
                    // one that may do anything, so that its executions' histories decide, as narrowly as they can be
                    // read (a RUNNING one whose history is refused too holds its region, named, with this fix).
                    // Tried again when the definition is due for a refresh.
                    try ledger.stateMachines.recordDefinition(
                        arn: item.stateMachineArn,
                        revisionID: nil,
                        sha256: "",
                        type: item.type,
                        analysis: .failure(.init(description: "DescribeStateMachine was refused: \(error)")),
                        at: now()
                    )
                    definitionsRead = true
                    logger.warning(
                        "state machine definition unreadable",
                        metadata: [
                            "state_machine": "\(item.stateMachineArn)", "error": "\(error)",
                        ]
                    )
                    continue
                }
                // Whether this state machine touches EMR is unknown: its running executions may use any cluster.
                problems.add(
                    "DescribeStateMachine \(item.stateMachineArn): \(error)",
                    region: region.region,
                    reach: .scope(account: Self.account(of: item.stateMachineArn))
                )
            }
        }
        if definitionsRead { known = try ledger.stateMachines.all() }
        for item in listed {
            // EXPRESS machines keep no execution list or history: nothing to follow, nothing held for them.
            guard let machine = known[item.stateMachineArn], !machine.isExpress else { continue }
            if machine.touchesEMR {
                if redriveCheckDue.contains(machine.arn) {
                    try await findRedrives(of: machine, region: region, problems: &problems)
                }
                try await followExecutions(of: machine, region: region, problems: &problems)
            } else if !(try ledger.executions.runningARNs(stateMachine: machine.arn)).isEmpty {
                // Executions of a machine with no EMR task are followed only while one may hold a cluster id handed
                // to it (found by `followHandOffs` before a termination): until each is seen to end.
                try await followRunning(of: machine, region: region, readHistories: false, problems: &problems)
            }
        }
        try await followRunningMapRuns(region, problems: &problems)
        try await followUnlisted(region, listed: Set(listed.map(\.stateMachineArn)), problems: &problems)
    }

    /// What a state machine can do to EMR across its latest revision and every published version: an execution
    /// started on a version (or an alias) runs that version's definition. The versions are listed when `listing`
    /// (the machine is new or its revision changed), each read once (versions never change); the ones already read
    /// count either way. One that cannot be understood makes the machine followed (its executions' histories decide).
    /// When the versions cannot be listed, what is known stands and the pass says why.
    func withVersions(
        _ latest: DefinitionAnalysis,
        of machine: String,
        listing: Bool,
        region: RegionClients,
        problems: inout Problems
    ) async throws(LedgerError) -> (analysis: DefinitionAnalysis, listed: Bool) {
        var merged = latest
        var listed = !listing
        var known = try ledger.stateMachines.versions(of: machine)
        if listing {
            do {
                for try await page in region.sfn.listStateMachineVersions(machine) {
                    for version in page.stateMachineVersions where known[version.stateMachineVersionArn] == nil {
                        let described = try await region.sfn.describeStateMachine(version.stateMachineVersionArn)
                        let analysis = DefinitionAnalysis.analyze(described.definition)
                        try ledger.stateMachines.recordVersion(
                            arn: version.stateMachineVersionArn,
                            stateMachine: machine,
                            analysis: analysis,
                            at: now()
                        )
                        known[version.stateMachineVersionArn] = .some(try? analysis.get())
                    }
                }
                listed = true
            } catch let error as LedgerError {
                throw error
            } catch {
                problems.add(
                    "ListStateMachineVersions \(machine): \(error) (executions started on versions not read yet are "
                        + "classified by the latest revision)",
                    region: region.region,
                    reach: .local
                )
            }
        }
        for version in known.values {
            guard let version else {
                merged.referencesClusters = true
                continue
            }
            merged.createsClusters = merged.createsClusters || version.createsClusters
            merged.referencesClusters = merged.referencesClusters || version.referencesClusters
            merged.startsExecutions = merged.startsExecutions || version.startsExecutions
        }
        return (merged, listed)
    }

    /// RUNNING executions whose state machine this pass's listing did not show (deleted, or a listing that lagged):
    /// each is described directly and AWS's answer decides. Only when the execution no longer exists and
    /// DescribeStateMachine confirms its machine is deleted is it recorded as gone (ended, found gone now): its
    /// clusters become orphans after the grace. Anything else keeps it RUNNING.
    func followUnlisted(
        _ region: RegionClients,
        listed: Set<String>,
        problems: inout Problems
    ) async throws(LedgerError) {
        let machines = try ledger.stateMachines.all()
        let unlisted = try ledger.executions.stateMachinesWithRunning().filter { arn in
            !listed.contains(arn) && machines[arn]?.region == region.region && !Self.isMapRunMachine(arn)
        }
        // Usually none: the pass reads no execution rows for this.
        guard !unlisted.isEmpty else { return }
        var stranded: [ExecutionRow] = []
        for machine in unlisted.sorted() {
            stranded += try ledger.executions.rows(stateMachine: machine, running: true).values
                .filter { $0.record.parentExecutionARN == nil }
        }
        stranded.sort { $0.record.arn < $1.record.arn }
        var records: [ExecutionRecord] = []
        for row in stranded {
            do {
                records.append(Self.record(try await region.sfn.describeExecution(row.record.arn)))
            } catch  where error.code == "ExecutionDoesNotExist" {
                do {
                    _ = try await region.sfn.describeStateMachine(row.record.stateMachineARN)
                    problems.add(
                        "DescribeExecution \(row.record.arn): it does not exist, but its state machine does",
                        region: region.region,
                        reach: .local
                    )
                } catch  where error.code == "StateMachineDoesNotExist" {
                    try ledger.executions.recordGone(arn: row.record.arn, at: now())
                    logger.notice(
                        "execution gone with its deleted state machine",
                        metadata: [
                            "execution": "\(row.record.arn)", "state_machine": "\(row.record.stateMachineARN)",
                        ]
                    )
                } catch {
                    problems.add(
                        "DescribeStateMachine \(row.record.stateMachineARN): \(error)",
                        region: region.region,
                        reach: .local
                    )
                }
            } catch {
                problems.add("DescribeExecution \(row.record.arn): \(error)", region: region.region, reach: .local)
            }
        }
        try ledger.executions.record(records, at: now())
    }

    /// Before anything in the region is terminated: the RUNNING executions of the state machines that have no EMR
    /// task, whose input, task parameters or variables may hold a cluster id another execution handed them (a
    /// worker started with the creator's ClusterId that has not reached its EMR call yet, a Lambda that will).
    func followHandOffs(_ region: RegionClients, problems: inout Problems) async throws(LedgerError) {
        let machines = try ledger.stateMachines.all()
        for machine in machines.values.sorted(by: { $0.arn < $1.arn })
        where machine.region == region.region && !machine.touchesEMR && !machine.isExpress
            && machine.definitionStatus == .parsed && !Self.isMapRunMachine(machine.arn)
        {
            try await followRunning(of: machine, region: region, readHistories: true, problems: &problems)
        }
    }

    /// Follows only the RUNNING executions of a state machine: the live set (one ListExecutions per 1000), a
    /// DescribeExecution for each one that left it, and (with `readHistories`) each RUNNING one's history from its
    /// cursor; without it, only histories never read or whose read failed.
    func followRunning(
        of machine: StateMachineRow,
        region: RegionClients,
        readHistories: Bool,
        problems: inout Problems
    ) async throws(LedgerError) {
        let wasRunning = try ledger.executions.runningARNs(stateMachine: machine.arn)
        var records: [ExecutionRecord] = []
        var running: Set<String> = []
        do {
            for try await page in region.sfn.listExecutions(.stateMachine(machine.arn), status: .running) {
                let items = page.executions
                for index in items.indices where running.insert(items[index].executionArn).inserted {
                    if !wasRunning.contains(items[index].executionArn) { records.append(Self.record(items[index])) }
                }
            }
        } catch {
            if try expressAnswer(error, machine: machine) { return }
            // Deleted (the ledger keeps its row): nothing of it runs any more. Its executions the ledger has as
            // RUNNING are described by `followUnlisted`, which AWS's answers decide.
            if error.code == "StateMachineDoesNotExist" { return }
            problems.add(
                "ListExecutions \(machine.arn): \(error)",
                region: region.region,
                reach: .scope(account: machine.account)
            )
            return
        }
        for arn in wasRunning.subtracting(running).sorted() {
            do {
                records.append(Self.record(try await region.sfn.describeExecution(arn)))
            } catch {
                // Kept RUNNING (what it holds stays held) until a describe succeeds.
                problems.add("DescribeExecution \(arn): \(error)", region: region.region, reach: .local)
            }
        }
        try ledger.executions.record(records, at: now())
        guard !running.isEmpty else { return }
        let batch = HistoryBatch(ledger: ledger, now: now)
        for row in try ledger.executions.rows(arns: running).values.sorted(by: { $0.record.arn < $1.record.arn })
        where readHistories || row.historyStatus == .unread
            || (row.historyStatus == .incomplete && row.historyProblem?.hasPrefix(Ledger.readFailurePrefix) == true)
        {
            try await readHistory(row, region: region, account: machine.account, problems: &problems, batch: batch)
        }
        try batch.flush()
    }

    /// Whether `error` is AWS saying the machine is EXPRESS (`StateMachineTypeNotSupported`): then it is recorded as
    /// such and not followed again.
    func expressAnswer(_ error: any Error, machine: StateMachineRow) throws(LedgerError) -> Bool {
        guard (error as? AWSError)?.code == "StateMachineTypeNotSupported" else { return false }
        try ledger.stateMachines.recordType(arn: machine.arn, type: "EXPRESS")
        logger.info(
            "EXPRESS state machine: its executions cannot be followed",
            metadata: ["state_machine": "\(machine.arn)"]
        )
        return true
    }

    /// A Distributed Map run's own state machine (`…:stateMachine:parent/label`), followed through its parent.
    static func isMapRunMachine(_ arn: String) -> Bool {
        arn.split(separator: ":").last?.contains("/") == true
    }

    /// Finds the executions redriven since the ledger last saw them (ListExecutions with `redriveFilter: REDRIVEN`,
    /// a higher `redriveCount`): their new status and redrive fields are recorded and their histories reopened, so
    /// that what the redrive did (a new cluster, another stop) is read this pass, even when the redrive started and
    /// ended between two passes.
    func findRedrives(
        of machine: StateMachineRow,
        region: RegionClients,
        problems: inout Problems
    ) async throws(LedgerError) {
        var redriven: [SFN.ExecutionListItem] = []
        do {
            for try await page in region.sfn.listRedrivenExecutions(machine.arn) {
                redriven += page.executions.filter { ($0.redriveCount ?? 0) > 0 }
            }
        } catch {
            problems.add(
                "ListExecutions (redriven) \(machine.arn): \(error)",
                region: region.region,
                reach: .scope(account: machine.account)
            )
            return
        }
        guard !redriven.isEmpty else { return }
        let known = try ledger.executions.rows(arns: redriven.map(\.executionArn))
        var records: [ExecutionRecord] = []
        for item in redriven {
            guard let row = known[item.executionArn], (item.redriveCount ?? 0) > row.record.redriveCount ?? 0 else {
                continue
            }
            var record = Self.record(item)
            record.redriveCount = item.redriveCount
            record.redriveDate = item.redriveDate
            records.append(record)
        }
        guard !records.isEmpty else { return }
        try ledger.executions.record(records, at: now())
        try ledger.histories.reopen(records.map(\.arn))
        logger.info(
            "redriven executions found",
            metadata: ["state_machine": "\(machine.arn)", "count": "\(records.count)"]
        )
    }

    /// Brings the ledger's executions of one state machine up to date, then reads the histories that need it.
    func followExecutions(
        of machine: StateMachineRow,
        region: RegionClients,
        problems: inout Problems
    ) async throws(LedgerError) {
        let account = machine.account
        // Only what the ledger has as RUNNING, and the listed executions: a pass's cost follows what changed, not
        // how many executions have ended.
        let wasRunning = try ledger.executions.runningARNs(stateMachine: machine.arn)
        var records: [ExecutionRecord] = []
        var running: Set<String> = []
        running.reserveCapacity(wasRunning.count + 64)
        var listed: [SFN.ExecutionListItem] = []
        // How many of the ledger's RUNNING executions the live set holds: all of them, and no execution left it.
        var stillRunning = 0
        // Usually nothing is new: the first newest-first page holds what the ledger already has inside the overlap
        // and a few more, so that one small call reaches past it; later pages are full.
        let horizon = machine.newestExecutionStart.map { $0.adding(.zero - configuration.executionOverlap) }
        var firstPageSize = 1000
        if let horizon {
            firstPageSize = min(
                1000,
                try ledger.executions.count(stateMachine: machine.arn, startedSince: horizon)
                    + Self.newExecutionsPageMargin
            )
        }
        do {
            // The live set: one call per 1000 RUNNING executions.
            for try await page in region.sfn.listExecutions(.stateMachine(machine.arn), status: .running) {
                // By index: iterating the items would copy each one (and retain its strings).
                let items = page.executions
                for index in items.indices where running.insert(items[index].executionArn).inserted {
                    // Record only what is new (or running again); the ledger already has the rest.
                    if wasRunning.contains(items[index].executionArn) {
                        stillRunning += 1
                    } else {
                        records.append(Self.record(items[index]))
                    }
                }
            }
            // New executions, newest first, until past the newest one already known (with an overlap).
            var pageSize = firstPageSize
            var token: String?
            pages: repeat {
                let page = try await region.sfn.listExecutionsPage(
                    .stateMachine(machine.arn),
                    status: nil,
                    pageSize: pageSize,
                    token: token
                )
                listed += page.executions.filter { !running.contains($0.executionArn) }
                if let horizon, let oldest = page.executions.map(\.startDate).min(), oldest < horizon { break pages }
                token = page.nextToken
                pageSize = 1000
            } while token != nil
        } catch {
            if try expressAnswer(error, machine: machine) { return }
            problems.add(
                "ListExecutions \(machine.arn): \(error)",
                region: region.region,
                reach: .scope(account: account)
            )
            return
        }
        let knownListed = try ledger.executions.statuses(arns: listed.map(\.executionArn))
        for index in listed.indices
        where knownListed[listed[index].executionArn] != ExecutionStatus(rawValue: listed[index].status) {
            records.append(Self.record(listed[index]))
        }
        // Executions the ledger has as RUNNING that are no longer in the live set: confirm with DescribeExecution
        // (status, stop date, redrive fields) before anything depends on them. New executions that had already
        // ended are taken from the list (status and stop date); their redrive fields are read by the re-check
        // that precedes any action on their clusters.
        let toDescribe = stillRunning == wasRunning.count ? [] : wasRunning.filter { !running.contains($0) }.sorted()
        records.removeAll { record in wasRunning.contains(record.arn) && !running.contains(record.arn) }
        for arn in toDescribe {
            do {
                records.append(Self.record(try await region.sfn.describeExecution(arn)))
            } catch {
                // The ledger keeps the execution RUNNING (so its clusters stay live) until a describe succeeds.
                problems.add("DescribeExecution \(arn): \(error)", region: region.region, reach: .local)
            }
        }
        try ledger.executions.record(records, at: now())
        let transitioned = Set(records.filter { $0.status.hasEnded && wasRunning.contains($0.arn) }.map(\.arn))
        // Histories: new executions, executions that just ended, and ended ones not yet fully read.
        var toRead = try ledger.histories.needingRead(stateMachine: machine.arn)
        toRead.merge(try ledger.executions.rows(arns: transitioned)) { current, _ in current }
        let batch = HistoryBatch(ledger: ledger, now: now)
        for row in toRead.values.sorted(by: { $0.record.arn < $1.record.arn }) {
            try await readHistory(row, region: region, account: account, problems: &problems, batch: batch)
        }
        try batch.flush()
    }

    /// Reads an execution's history from where the last read stopped and records what it proves.
    func readHistory(
        _ row: ExecutionRow,
        region: RegionClients,
        account: String,
        problems: inout Problems,
        batch: HistoryBatch
    ) async throws(LedgerError) {
        var analyzer = HistoryAnalyzer(resumingAfter: row.historyLastEventID)
        var lastToken = row.historyNextToken
        do {
            var iterator = region.sfn.getExecutionHistory(row.record.arn, startToken: row.historyNextToken)
                .makeAsyncIterator()
            while let page = try await iterator.next() {
                analyzer.read(page.events.map(\.fact))
                lastToken = page.nextToken
            }
        } catch {
            // Keep what was read; the execution's clusters stay unknown until a later pass reads the rest.
            try ledger.histories.recordFailure(executionARN: row.record.arn, problem: "\(error)", at: now())
            problems.add("GetExecutionHistory \(row.record.arn): \(error)", region: region.region, reach: .local)
            return
        }
        let ended = row.record.status.hasEnded
        let findings = analyzer.finish(executionEnded: ended)
        // A finished read of an ended execution resumes from the last event id, not from a stale token.
        try batch.add(
            HistoryRead(
                executionARN: row.record.arn,
                findings: findings,
                nextToken: ended ? nil : lastToken,
                executionEnded: ended,
                region: region.region,
                account: account
            )
        )
        try await followChildren(
            findings.childExecutionARNs,
            parent: row.record,
            region: region,
            account: account,
            problems: &problems,
            batch: batch
        )
        // Map runs seen in this read, and those whose children are already known (their MapRunStarted event was in
        // an earlier read).
        let knownRuns = try ledger.executions.rows(parent: row.record.arn).values.compactMap(\.record.mapRunARN)
        for mapRun in Array(Set(findings.mapRunARNs + knownRuns)).sorted() {
            try await followMapRun(mapRun, parent: row.record, region: region, account: account, problems: &problems)
        }
    }

    /// Child executions this execution started (`states:startExecution`, `aws-sdk:sfn:startExecution`): linked to
    /// their parent, described when new and their histories read, so that a cluster id handed to a child keeps its
    /// cluster while the child runs, whether or not the child's state machine has an EMR task. (Once recorded, a
    /// RUNNING child is followed until it ends like any execution of its state machine.)
    func followChildren(
        _ children: [String],
        parent: ExecutionRecord,
        region: RegionClients,
        account: String,
        problems: inout Problems,
        batch: HistoryBatch
    ) async throws(LedgerError) {
        guard !children.isEmpty else { return }
        let known = try ledger.executions.rows(arns: children)
        var records: [ExecutionRecord] = []
        var fresh: [String] = []
        for child in children {
            if var existing = known[child]?.record {
                guard existing.parentExecutionARN == nil else { continue }
                existing.parentExecutionARN = parent.arn
                records.append(existing)
                continue
            }
            do {
                var record = Self.record(try await region.sfn.describeExecution(child))
                record.parentExecutionARN = parent.arn
                records.append(record)
                fresh.append(child)
            } catch {
                // Unknown until described: a RUNNING child may hold a cluster id, so its scope is uncertain.
                problems.add(
                    "DescribeExecution \(child) (started by \(parent.arn)): \(error)",
                    region: region.region,
                    reach: .scope(account: account)
                )
            }
        }
        guard !records.isEmpty else { return }
        let machines = try ledger.stateMachines.all()
        let unknownMachines = Set(records.map(\.stateMachineARN)).filter { machines[$0] == nil }
        if !unknownMachines.isEmpty {
            try ledger.stateMachines.recordSeen(
                unknownMachines.sorted().map { arn in
                    (
                        arn: arn, name: String(arn.split(separator: ":").last ?? ""), region: region.region,
                        account: Self.account(of: arn), type: nil
                    )
                },
                at: now()
            )
        }
        try ledger.executions.record(records, at: now())
        for row in try ledger.executions.rows(arns: fresh).values.sorted(by: { $0.record.arn < $1.record.arn })
        where row.historyStatus == .unread {
            try await readHistory(row, region: region, account: account, problems: &problems, batch: batch)
        }
    }

    /// Re-lists the map runs that still have RUNNING children, so that their statuses stay current.
    func followRunningMapRuns(_ region: RegionClients, problems: inout Problems) async throws(LedgerError) {
        let runningChildren = try ledger.executions.runningMapRunChildren().values
        guard !runningChildren.isEmpty else { return }
        let parents = try ledger.executions.rows(arns: runningChildren.compactMap(\.record.parentExecutionARN))
        let machines = try ledger.stateMachines.all()
        var runs: [String: ExecutionRecord] = [:]
        for row in runningChildren {
            guard let mapRun = row.record.mapRunARN, let parentARN = row.record.parentExecutionARN,
                let parent = parents[parentARN]?.record, machines[parent.stateMachineARN]?.region == region.region
            else { continue }
            runs[mapRun] = parent
        }
        for (mapRun, parent) in runs.sorted(by: { $0.key < $1.key }) {
            try await followMapRun(
                mapRun,
                parent: parent,
                region: region,
                account: Self.account(of: parent.arn),
                problems: &problems
            )
        }
    }

    /// Follows the child executions of a Distributed Map run like any execution: lists them by map run, records
    /// them with their parent, and reads the histories of new or ended ones. Each child's own status decides for
    /// the clusters its history shows it created.
    func followMapRun(
        _ mapRunARN: String,
        parent: ExecutionRecord,
        region: RegionClients,
        account: String,
        problems: inout Problems
    ) async throws(LedgerError) {
        var children: [ExecutionRecord] = []
        do {
            for try await page in region.sfn.listExecutions(.mapRun(mapRunARN)) {
                children += page.executions.map { item in
                    var record = Self.record(item)
                    record.parentExecutionARN = parent.arn
                    record.mapRunARN = mapRunARN
                    return record
                }
            }
        } catch {
            // Unknown children may hold clusters: the scope stays uncertain until they are listed.
            problems.add(
                "ListExecutions for map run \(mapRunARN): \(error)",
                region: region.region,
                reach: .scope(account: account)
            )
            return
        }
        guard !children.isEmpty else { return }
        // Children run under the map run's own state machine ARN (`…:stateMachine:parent/label`): record it, so
        // that the children have a home in the ledger; it is followed through its parent, not listed.
        let machines = Set(children.map(\.stateMachineARN))
        try ledger.stateMachines.recordSeen(
            machines.map { arn in
                (
                    arn: arn, name: String(arn.split(separator: ":").last ?? ""), region: region.region,
                    account: account, type: "STANDARD"
                )
            },
            at: now()
        )
        let known = try ledger.executions.rows(parent: parent.arn)
        var fresh: [ExecutionRecord] = []
        for child in children where known[child.arn]?.record.status != child.status || known[child.arn] == nil {
            if child.status.hasEnded {
                do {
                    var described = Self.record(try await region.sfn.describeExecution(child.arn))
                    described.parentExecutionARN = parent.arn
                    described.mapRunARN = mapRunARN
                    fresh.append(described)
                } catch {
                    problems.add("DescribeExecution \(child.arn): \(error)", region: region.region, reach: .local)
                }
            } else {
                fresh.append(child)
            }
        }
        try ledger.executions.record(fresh, at: now())
        let rows = try ledger.executions.rows(parent: parent.arn)
        let batch = HistoryBatch(ledger: ledger, now: now)
        for child in fresh {
            guard let row = rows[child.arn], row.historyStatus != .complete else { continue }
            try await readHistory(row, region: region, account: account, problems: &problems, batch: batch)
        }
        try batch.flush()
    }

    /// Re-reads the histories of RUNNING executions of state machines that use clusters, so that references made
    /// since the last read protect their clusters before anything is terminated.
    func refreshRunningHistories(_ region: RegionClients, problems: inout Problems) async throws(LedgerError) {
        try await followHandOffs(region, problems: &problems)
        let machines = try ledger.stateMachines.all()
        let batch = HistoryBatch(ledger: ledger, now: now)
        for row in try ledger.executions.rows(running: true).values.sorted(by: { $0.record.arn < $1.record.arn }) {
            guard let machine = machines[row.record.stateMachineARN], machine.region == region.region,
                machine.touchesEMR
            else { continue }
            try await readHistory(row, region: region, account: machine.account, problems: &problems, batch: batch)
        }
        try batch.flush()
    }

    /// How many new executions the first newest-first page has room for beyond those already known.
    static let newExecutionsPageMargin = 10

    static func record(_ item: SFN.ExecutionListItem) -> ExecutionRecord {
        ExecutionRecord(
            arn: item.executionArn,
            stateMachineARN: item.stateMachineArn,
            name: item.name,
            mapRunARN: item.mapRunArn,
            status: ExecutionStatus(rawValue: item.status) ?? .running,
            startDate: item.startDate,
            stopDate: item.stopDate,
            source: "ListExecutions",
            versionARN: item.stateMachineVersionArn,
            aliasARN: item.stateMachineAliasArn
        )
    }

    static func record(_ item: SFN.DescribeExecutionOutput) -> ExecutionRecord {
        ExecutionRecord(
            arn: item.executionArn,
            stateMachineARN: item.stateMachineArn,
            name: item.name,
            mapRunARN: item.mapRunArn,
            status: ExecutionStatus(rawValue: item.status) ?? .running,
            startDate: item.startDate,
            stopDate: item.stopDate,
            redriveCount: item.redriveCount ?? 0,
            redriveStatus: item.redriveStatus.flatMap(RedriveStatus.init(rawValue:)),
            redriveDate: item.redriveDate,
            source: "DescribeExecution",
            versionARN: item.stateMachineVersionArn,
            aliasARN: item.stateMachineAliasArn
        )
    }

    /// The account in an ARN (`arn:aws:states:us-east-1:123456789012:…`).
    static func account(of arn: String) -> String { ExecutionARN.account(of: arn) }
}

extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

/// History reads waiting to be recorded: written together (one transaction per `limit` reads, and at the end of
/// each stage) instead of one transaction per execution. A crash loses only reads, which the next pass repeats.
final class HistoryBatch {
    let ledger: Ledger
    let now: @Sendable () -> Timestamp
    let limit: Int
    private var pending: [HistoryRead] = []

    init(ledger: Ledger, now: @escaping @Sendable () -> Timestamp, limit: Int = 250) {
        self.ledger = ledger
        self.now = now
        self.limit = limit
    }

    func add(_ read: HistoryRead) throws(LedgerError) {
        pending.append(read)
        if pending.count >= limit { try flush() }
    }

    func flush() throws(LedgerError) {
        guard !pending.isEmpty else { return }
        try ledger.histories.recordAll(pending, at: now())
        pending.removeAll(keepingCapacity: true)
    }
}
