/// A view of the ledger for one kind of thing it keeps, over the ledger's one connection.
protocol LedgerStore: Sendable {
    var ledger: Ledger { get }
}

extension LedgerStore {
    @discardableResult
    func write<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        try ledger.write(action, body)
    }

    func read<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        try ledger.read(action, body)
    }

    func readSnapshot<T>(_ action: String, _ body: (SQLiteConnection) throws -> T) throws(LedgerError) -> T {
        try ledger.readSnapshot(action, body)
    }

    var schemaVersion: Int { ledger.schemaVersion }

    func withList(
        of ids: some Collection<String>,
        _ action: String,
        _ body: (SQLiteConnection, String, [SQLValue]) throws(SQLiteError) -> Void
    ) throws(LedgerError) {
        try ledger.withList(of: ids, action, body)
    }
}

/// The state machines: which ones touch EMR (their definitions and versions), their type, when each was seen.
public struct StateMachineStore: LedgerStore {
    let ledger: Ledger
}

/// The executions: status, redrive fields, parents and Map Runs.
public struct ExecutionStore: LedgerStore {
    let ledger: Ledger
}

/// What each execution's history showed (clusters created and referenced), and where its reading stands.
public struct HistoryStore: LedgerStore {
    let ledger: Ledger
}

/// The clusters: observed state, capacity, instance-group references, and the billing clusters no workflow created.
public struct ClusterStore: LedgerStore {
    let ledger: Ledger
}

/// The policy's facts and decisions, and terminations recorded with their cluster's new state.
public struct DecisionStore: LedgerStore {
    let ledger: Ledger
}

/// Passes and the append-only journal of intents, outcomes and decisions.
public struct JournalStore: LedgerStore {
    let ledger: Ledger
}

/// The file as a whole: checks, the whole-file quick check, backups.
public struct MaintenanceStore: LedgerStore {
    let ledger: Ledger
}

extension Ledger {
    public var stateMachines: StateMachineStore { StateMachineStore(ledger: self) }
    public var executions: ExecutionStore { ExecutionStore(ledger: self) }
    public var histories: HistoryStore { HistoryStore(ledger: self) }
    public var clusters: ClusterStore { ClusterStore(ledger: self) }
    public var decisions: DecisionStore { DecisionStore(ledger: self) }
    public var journal: JournalStore { JournalStore(ledger: self) }
    public var maintenance: MaintenanceStore { MaintenanceStore(ledger: self) }
}
