import CostGuardCore

/// Answers of the reads every pass repeats, kept while nothing they were read from can have changed.
///
/// A steady `serve` pass asks the ledger the same questions as the pass before (which clusters are tracked, their
/// policy facts, which executions run, what status the listed ones have) and, when nothing happened, gets the same
/// answers: about a third of its CPU. The answers are kept, and dropped whole as soon as the ledger may answer
/// differently: the connection's change count (every row this process inserted, updated or deleted outside the
/// tables no cached read uses — state machines, passes, journal, capacity — and every rollback) or SQLite's `data_version` (a commit by any other
/// connection, such as `costguard exempt` in another process) moved since they were read. Both are read before
/// the query they guard, inside its snapshot, so an answer is never stored under a newer stamp than its own.
/// Nothing is kept for long without a check: every cached read checks first.
final class LedgerReadCache {
    struct Stamp: Equatable {
        var changes: UInt64
        var dataVersion: Int64
    }

    private var stamp: Stamp?
    /// Answers given from the cache (for tests and `costguard_ledger_cache_hits_total`).
    private(set) var hits = 0
    /// How many answers (entries) the cache holds; past `capacity` it starts over, so it stays small.
    private var entries = 0
    static let capacity = 20_000

    var stateMachines: [String: StateMachineRow]?
    var trackedClusters: [TrackedCluster]?
    /// Policy facts with the time the cluster's state was observed (what "observed this pass" is computed from).
    var policyFacts: [(facts: ClusterFacts, observedAt: Timestamp?)]?
    /// The state machines with a RUNNING execution whose history could not be read in full.
    var incompleteRunningHistories: Set<String>?
    /// The state machines with a RUNNING execution that is not a Map Run's child.
    var machinesWithRunning: Set<String>?
    /// Status by execution ARN; `.some(nil)` for an ARN the ledger does not have.
    var statuses: [String: ExecutionStatus?] = [:]
    var runningARNs: [String: Set<String>] = [:]
    var executionCounts: [String: Int] = [:]
    var needingHistory: [String: [String: ExecutionRow]] = [:]
    /// A cluster's disposition columns, by id; `.some(nil)` for an id the ledger does not have.
    var dispositions: [String: Disposition?] = [:]

    /// When this connection last wrote each state machine's row as seen (not an answer of a read: kept across this
    /// connection's own changes, dropped when another connection commits, which may have changed or removed the rows).
    var machinesSeen: [String: Timestamp] = [:]

    /// The columns `recordDecisions` compares a decision with.
    struct Disposition {
        var disposition: String?
        var reason: String?
        var orphanedSince: String?

        init(_ disposition: String?, _ reason: String?, _ orphanedSince: String?) {
            self.disposition = disposition
            self.reason = reason
            self.orphanedSince = orphanedSince
        }
    }

    /// Drops every answer unless `current` is the stamp they were read under.
    func check(_ current: Stamp) {
        guard current != stamp else { return }
        if current.dataVersion != stamp?.dataVersion { machinesSeen = [:] }
        stateMachines = nil
        trackedClusters = nil
        policyFacts = nil
        incompleteRunningHistories = nil
        machinesWithRunning = nil
        statuses = [:]
        runningARNs = [:]
        executionCounts = [:]
        needingHistory = [:]
        dispositions = [:]
        entries = 0
        stamp = current
    }

    /// Accounts for `count` more entries; returns `false` (and keeps nothing more) when the cache is full.
    func admit(_ count: Int) -> Bool {
        guard entries + count <= Self.capacity else { return false }
        entries += count
        return true
    }

    /// The answer kept in `slot`, or `compute`'s, kept there when it fits (`size` entries).
    func cached<V>(
        _ slot: ReferenceWritableKeyPath<LedgerReadCache, V?>,
        size: (V) -> Int,
        _ compute: () throws -> V
    ) rethrows -> V {
        if let known = self[keyPath: slot] {
            hits += 1
            return known
        }
        let value = try compute()
        if admit(size(value)) { self[keyPath: slot] = value }
        return value
    }

    /// The answer kept for `key` in `map`, or `compute`'s, kept there when it fits (`size` entries, plus the key).
    func cached<K: Hashable, V>(
        _ map: ReferenceWritableKeyPath<LedgerReadCache, [K: V]>,
        _ key: K,
        size: (V) -> Int = { _ in 0 },
        _ compute: () throws -> V
    ) rethrows -> V {
        if let known = self[keyPath: map][key] {
            hits += 1
            return known
        }
        let value = try compute()
        if admit(size(value) + 1) { self[keyPath: map][key] = value }
        return value
    }

    /// The values of `ids` in `map` (which keeps `.some(nil)` for an id the ledger does not have): those not kept
    /// are read with `fetch` (given only them; it returns those it found) and kept when they fit.
    func lookup<V>(
        _ ids: some Collection<String>,
        in map: ReferenceWritableKeyPath<LedgerReadCache, [String: V?]>,
        _ fetch: ([String]) throws -> [String: V]
    ) rethrows -> [String: V] {
        // The map is taken out for the lookup and put back after (one key-path access, not one per id, and the
        // map stays uniquely referenced, so adding to it copies nothing).
        var kept = self[keyPath: map]
        self[keyPath: map] = [:]
        defer { self[keyPath: map] = kept }
        var result: [String: V] = [:]
        result.reserveCapacity(ids.count)
        var unknown: [String] = []
        for id in ids {
            if let known = kept[id] {
                if let known { result[id] = known }
            } else {
                unknown.append(id)
            }
        }
        if unknown.isEmpty {
            hits += 1
            return result
        }
        let found = try fetch(unknown)
        result.merge(found) { _, new in new }
        if admit(unknown.count) {
            for id in unknown { kept[id] = .some(found[id]) }
        }
        return result
    }
}

extension Ledger {
    /// Runs `body` like `read`, with the cache checked against the connection's current stamp first.
    func cachedRead<T>(
        _ action: String,
        _ body: (SQLiteConnection, LedgerReadCache) throws -> T
    ) throws(LedgerError) -> T {
        try read(action) { db in
            readCache.check(try Self.readStamp(db))
            return try body(db, readCache)
        }
    }

    /// Runs `body` like `readSnapshot`, with the cache checked inside the snapshot first.
    func cachedSnapshot<T>(
        _ action: String,
        _ body: (SQLiteConnection, LedgerReadCache) throws -> T
    ) throws(LedgerError) -> T {
        try readSnapshot(action) { db in
            readCache.check(try Self.readStamp(db))
            return try body(db, readCache)
        }
    }

    /// Runs `body` like `write`, with the cache checked inside the transaction before `body` changes anything
    /// (its first change moves the stamp, so what it read is read again next time).
    func cachedWrite<T>(
        _ action: String,
        _ body: (SQLiteConnection, LedgerReadCache) throws -> T
    ) throws(LedgerError) -> T {
        try write(action) { db in
            readCache.check(try Self.readStamp(db))
            return try body(db, readCache)
        }
    }

    /// The connection's change count and data version now (read before what it guards).
    static func readStamp(_ db: SQLiteConnection) throws -> LedgerReadCache.Stamp {
        LedgerReadCache.Stamp(changes: db.changeCount, dataVersion: try db.dataVersion())
    }

    /// Reads answered from the cache since the ledger was opened (for tests).
    package func cachedReadHits() throws(LedgerError) -> Int {
        try read("reading cache statistics") { _ in readCache.hits }
    }
}
