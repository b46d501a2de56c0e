import CostGuardCore
import Foundation
import Synchronization
import Testing

@testable import CostGuardLedger

@Suite("Migrations")
struct MigrationTests {
    @Test("the embedded migrations are exactly the files in Migrations/, numbered 1…n")
    func embeddedMatchesFiles() throws {
        let directory = repositoryRoot + "/Migrations"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files == Migration.all.map(\.name))
        for migration in Migration.all {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + migration.name))
            #expect(Migration(name: migration.name, bytes: Array(bytes)) == migration, "\(migration.name) differs")
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
    }

    @Test("migrations apply to an empty file, and a re-open applies nothing and changes no row")
    func applyFromEmptyThenReopen() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let ledger = try Ledger.open(path: path, now: testNow)
            #expect(ledger.schemaVersion == Migration.latestVersion)
            let applied = try ledger.testing_count("SELECT count(*) FROM costguard_migrations")
            #expect(applied == Migration.all.count)
            let mode = try ledger.read("mode") { try $0.query("PRAGMA journal_mode").first?[0].text }
            #expect(mode == "wal")
            let foreignKeys = try ledger.read("fk") { try $0.query("PRAGMA foreign_keys").first?[0].integer }
            #expect(foreignKeys == 1)
            let synchronous = try ledger.read("sync") { try $0.query("PRAGMA synchronous").first?[0].integer }
            #expect(synchronous == 2, "synchronous must be FULL (2)")

            let reopened = try Ledger.open(path: path, now: testNow.adding(.seconds(60)))
            #expect(reopened.schemaVersion == Migration.latestVersion)
            let appliedAt = try reopened.read("applied") {
                try $0.query("SELECT applied_at FROM costguard_migrations").compactMap { $0[0].text }
            }
            #expect(
                appliedAt == Array(repeating: testNow.iso8601, count: Migration.all.count),
                "a re-open must not re-apply or re-record a migration"
            )
        }
    }

    @Test(
        "the table rebuild of version 10 keeps every row and reference, accepts the new disposition, and leaves foreign keys on"
    )
    func clustersRebuild() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let nine = MigrationRunner(migrations: Array(Migration.all.prefix(9)))
            let old = try Ledger.open(path: path, now: testNow, configuration: Ledger.Configuration(), runner: nine)
            #expect(old.schemaVersion == 9)
            try old.write("seed") { db in
                try db.execute(
                    """
                    INSERT INTO state_machines (arn, name, region, account, first_seen_at, last_seen_at)
                        VALUES ('sm', 'sm', 'us-east-1', '123456789012', 't', 't');
                    INSERT INTO executions (arn, state_machine_arn, status, start_date, status_source, status_observed_at,
                        first_seen_at, last_seen_at) VALUES ('ex', 'sm', 'FAILED', 't', 'test', 't', 't', 't');
                    INSERT INTO clusters (id, region, account, created_by_execution_arn, created_by_event_id,
                        created_by_event_type, created_by_resource, state, first_seen_at, last_seen_at, disposition,
                        disposition_reason, instance_collection_type)
                        VALUES ('j-KEEP', 'us-east-1', '123456789012', 'ex', 5, 'TaskSucceeded', 'createCluster', 'RUNNING',
                                't', 't', 'orphan', 'why', 'INSTANCE_GROUP');
                    INSERT INTO cluster_capacity (cluster_id, unit_id, kind, instance_type, market, running_count, observed_at)
                        VALUES ('j-KEEP', 'ig-1', 'group', 'm5.xlarge', 'ON_DEMAND', 3, 't');
                    """
                )
            }
            let before = try old.testing_count("SELECT count(*) FROM clusters")
            let migrated = try Ledger.open(path: path, now: testNow)
            #expect(migrated.schemaVersion == Migration.latestVersion)
            #expect(try migrated.testing_count("SELECT count(*) FROM clusters") == before)
            #expect(
                try migrated.testing_count(
                    "SELECT count(*) FROM clusters WHERE id = 'j-KEEP' AND disposition = 'orphan' AND disposition_reason = 'why' "
                        + "AND instance_collection_type = 'INSTANCE_GROUP' AND auto_terminate IS NULL"
                ) == 1
            )
            #expect(
                try migrated.testing_count(
                    "SELECT count(*) FROM cluster_capacity c JOIN clusters k ON k.id = c.cluster_id"
                ) == 1
            )
            #expect(try migrated.read("fk") { try $0.query("PRAGMA foreign_keys").first?[0].integer } == 1)
            #expect(try migrated.read("fk check") { try $0.query("PRAGMA foreign_key_check").count } == 0)
            #expect(
                try migrated.testing_count(
                    "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'clusters' AND type = 'index'"
                ) >= 3
            )
            try migrated.write("self-terminating") { db in
                try db.execute(
                    "UPDATE clusters SET disposition = 'self-terminating', auto_terminate = 1 WHERE id = 'j-KEEP'"
                )
            }
            // The references are enforced again: capacity of a cluster that does not exist is refused.
            #expect(throws: LedgerError.self) {
                try migrated.write("dangling") { db in
                    try db.execute(
                        "INSERT INTO cluster_capacity (cluster_id, unit_id, kind, instance_type, market, running_count, observed_at) "
                            + "VALUES ('j-NONE', 'ig-2', 'group', 'm5.xlarge', 'ON_DEMAND', 1, 't')"
                    )
                }
            }
            #expect(throws: LedgerError.self) {
                try migrated.write("bad disposition") { db in try db.execute("UPDATE clusters SET disposition = 'gone'")
                }
            }
        }
    }

    @Test("each status enum lists exactly the values its column's CHECK allows")
    func enumsMatchChecks() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/ledger.sqlite", now: testNow)
            let schema = try ledger.read("schema") { db in
                try db.query("SELECT sql FROM sqlite_schema WHERE name = 'clusters'").first?[0].text ?? ""
            }
            #expect(Set(checkList(schema, column: "disposition")) == Set(Disposition.allCases.map(\.rawValue)))
            #expect(Set(checkList(schema, column: "state")) == Set(ClusterState.allCases.map(\.rawValue)))
            let executions = try ledger.read("schema") { db in
                try db.query("SELECT sql FROM sqlite_schema WHERE name = 'executions'").first?[0].text ?? ""
            }
            #expect(Set(checkList(executions, column: "status")) == Set(ExecutionStatus.allCases.map(\.rawValue)))
            #expect(
                Set(checkList(executions, column: "redrive_status")) == Set(RedriveStatus.allCases.map(\.rawValue))
            )
            #expect(
                Set(checkList(executions, column: "history_status")) == Set(HistoryStatus.allCases.map(\.rawValue))
            )
            func table(_ name: String) throws -> String {
                try ledger.read("schema") { db in
                    try db.query("SELECT sql FROM sqlite_schema WHERE name = ?", [.text(name)]).first?[0].text ?? ""
                }
            }
            #expect(
                Set(checkList(try table("state_machines"), column: "definition_status"))
                    == Set(DefinitionStatus.allCases.map(\.rawValue))
            )
            let journal = try table("journal")
            #expect(Set(checkList(journal, column: "kind")) == Set(JournalKind.allCases.map(\.rawValue)))
            #expect(Set(checkList(journal, column: "result")) == Set(CallResult.allCases.map(\.rawValue)))
            let notices = try table("notices")
            #expect(Set(checkList(notices, column: "kind")) == Set(NoticeKind.allCases.map(\.rawValue)))
            #expect(Set(checkList(notices, column: "channel")) == Set(NoticeChannel.allCases.map(\.rawValue)))
            // A pass row reads 'running' until the pass ends with one of the outcomes.
            #expect(
                Set(checkList(try table("passes"), column: "outcome"))
                    == Set(PassOutcome.allCases.map(\.rawValue) + ["running"])
            )
        }
    }

    /// The quoted values of `CHECK (column IN ('a', 'b', …))` in a CREATE TABLE statement.
    func checkList(_ sql: String, column: String) -> [String] {
        guard let start = sql.range(of: "CHECK (\(column) IN (") else { return [] }
        let rest = sql[start.upperBound...]
        guard let end = rest.firstIndex(of: ")") else { return [] }
        return rest[..<end].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
    }

    @Test("a new ledger file and its WAL files are created with mode 0600")
    func fileMode() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let previous = umask(0o022)
            defer { umask(previous) }
            let ledger = try Ledger.open(path: path, now: testNow)
            _ = try ledger.journal.startPass(trigger: "reconcile", dryRun: true, at: testNow)
            for file in [path, path + "-wal", path + "-shm"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue
                #expect(permissions == 0o600, "\(file) has mode \(String(permissions ?? 0, radix: 8))")
            }
        }
    }

    @Test("a ledger whose applied migration was edited is refused, untouched, with the fix")
    func editedMigration() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            // Migrate with a 0001 whose text differs from the shipped one, as an older build with an edit would.
            let original = Migration.all[0]
            let edited = Migration(name: original.name, bytes: Array((original.sql + "\n-- edited\n").utf8))
            try createLedger(at: path, migrations: [edited])
            let before = fileBytes(path)
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: path, now: testNow) }
            #expect(error.code == .editedMigration)
            #expect(error.description.contains(path))
            #expect(error.description.contains(original.name))
            #expect(error.description.contains("new numbered migration"))
            #expect(fileBytes(path) == before)
        }
    }

    @Test("a ledger from a newer CostGuard is refused, untouched, for writing and for reading")
    func newerSchema() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let future = Migration(name: "9999_from_the_future.sql", bytes: Array("CREATE TABLE future (x);".utf8))
            try createLedger(at: path, migrations: Migration.all + [future])
            let before = fileBytes(path)
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: path, now: testNow) }
            #expect(error.code == .newerSchema)
            #expect(error.description.contains("9999"))
            #expect(error.description.contains("upgrade costguard"))
            let readError = try #require(throws: LedgerError.self) { try Ledger.openReadOnly(path: path) }
            #expect(readError.code == .newerSchema)
            #expect(fileBytes(path) == before)
        }
    }

    // Offsets: the file header, page 1's b-tree header, and the headers of pages 2 and 4.
    @Test("a file with overwritten bytes is refused, untouched", arguments: [0, 100, 4096, 3 * 4096])
    func corruptFile(offset: Int) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            do {
                let ledger = try Ledger.open(path: path, now: testNow)
                for n in 0..<40 { try ledger.testing_writeBatch(number: n, now: testNow) }
            }
            // Fold the WAL into the main file so the damage is in what SQLite reads.
            try checkpoint(path)
            var bytes = try #require(fileBytes(path))
            for i in offset..<min(offset + 64, bytes.count) { bytes[i] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
            // A day later, when the whole-file check is due again (QuickCheckTests has the other reasons).
            let error = try #require(throws: LedgerError.self) {
                try Ledger.open(path: path, now: testNow.adding(.seconds(24 * 3600)))
            }
            #expect([.corrupt, .notALedger].contains(error.code), "got \(error)")
            #expect(error.description.contains(path))
            #expect(error.description.contains("backup"))
            #expect(fileBytes(path) == bytes)
        }
    }

    @Test("another program's SQLite database is refused, untouched")
    func foreignDatabase() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/other.sqlite"
            do {
                let db = try SQLiteConnection(path: try createEmpty(path), mode: .readWrite)
                try db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
            }
            let before = fileBytes(path)
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: path, now: testNow) }
            #expect(error.code == .notALedger)
            #expect(fileBytes(path) == before)
        }
    }

    @Test("a path that is a directory names the file to use instead")
    func pathIsDirectory() throws {
        try withTemporaryDirectory { dir in
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: dir, now: testNow) }
            #expect(error.code == .pathIsDirectory)
            #expect(error.description.contains(dir + "/ledger.sqlite"))
        }
    }

    @Test("a creation that fails part-way leaves no ledger file and no temporary file behind")
    func failedCreationLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            // The first migration applies; the second fails, as a crash or a full disk would part-way through.
            let broken = Migration(
                name: "0002_broken.sql",
                bytes: Array("CREATE TABLE t (x); SELECT no_such_function();".utf8)
            )
            let runner = MigrationRunner(migrations: [Migration.all[0], broken])
            #expect(throws: LedgerError.self) {
                try Ledger.open(path: path, now: testNow, configuration: Ledger.Configuration(), runner: runner)
            }
            #expect(!FileManager.default.fileExists(atPath: path), "a half-migrated ledger was left at the path")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
            // The next start creates the whole ledger as if nothing had happened.
            let ledger = try Ledger.open(path: path, now: testNow)
            #expect(try ledger.testing_count("SELECT count(*) FROM costguard_migrations") == Migration.all.count)
        }
    }

    @Test("concurrent creations of one ledger give one ledger, migrated once, and leave no temporary file")
    func concurrentCreation() throws {
        for round in 0..<8 {
            try withTemporaryDirectory { dir in
                let path = dir + "/ledger.sqlite"
                let results = Mutex<[Result<Int, LedgerError>]>([])
                DispatchQueue.concurrentPerform(iterations: 4) { _ in
                    let result = Result { () throws(LedgerError) -> Int in
                        try Ledger.open(path: path, now: testNow).testing_count(
                            "SELECT count(*) FROM costguard_migrations"
                        )
                    }
                    results.withLock { $0.append(result) }
                }
                for result in results.withLock({ $0 }) {
                    #expect(try result.get() == Migration.all.count, "round \(round)")
                }
                let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
                    !$0.hasPrefix("ledger.sqlite")
                }
                #expect(left == [], "round \(round)")
            }
        }
    }

    @Test(
        "temporary files of killed creations are removed, whatever their PID; one a creation holds, or just made, is kept"
    )
    func abandonedCreations() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let old = Date(timeIntervalSinceNow: -60)
            func make(_ name: String, age: Date?) -> String {
                let file = dir + "/" + name
                #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
                if let age { try? FileManager.default.setAttributes([.modificationDate: age], ofItemAtPath: file) }
                return file
            }
            // Killed creations: nobody holds their lock. One carries this process's own PID, as a container's
            // restarted process may.
            let dead = make(".ledger.sqlite.4242.1234.creating", age: old)
            let journal = make(".ledger.sqlite.4242.1234.creating-journal", age: old)
            let samePID = make(".ledger.sqlite.\(getpid()).7.creating", age: old)
            // A creation in progress holds an exclusive flock on its file (another open file description here).
            let held = make(".ledger.sqlite.4243.99.creating", age: old)
            let fd = open(held, O_RDONLY)
            #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            defer { close(fd) }
            // Made an instant ago (between another creation's open and its flock), and another ledger's.
            let fresh = make(".ledger.sqlite.4244.5.creating", age: nil)
            let other = make(".other.sqlite.4242.5.creating", age: old)

            _ = try Ledger.open(path: path, now: testNow)
            for file in [dead, journal, samePID] {
                #expect(!FileManager.default.fileExists(atPath: file), "\(file) was left")
            }
            for file in [held, fresh, other] {
                #expect(FileManager.default.fileExists(atPath: file), "\(file) was removed")
            }
        }
    }

    @Test("a missing directory says to create it")
    func missingDirectory() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/nope/ledger.sqlite"
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: path, now: testNow) }
            #expect(error.code == .missingDirectory)
            #expect(error.description.contains("mkdir -p \(dir)/nope"))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }
}

/// Creates a ledger at `path` with an explicit migration list (to fake other builds).
func createLedger(at path: String, migrations: [Migration]) throws {
    let db = try SQLiteConnection(path: try createEmpty(path), mode: .readWrite)
    try db.execute("PRAGMA journal_mode = WAL")
    let runner = MigrationRunner(migrations: migrations)
    try runner.migrate(db, applied: try runner.validate(db), now: testNow.iso8601)
    try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
}

/// Creates an empty file and returns its path.
func createEmpty(_ path: String) throws -> String {
    guard FileManager.default.createFile(atPath: path, contents: Data()) else {
        throw CocoaError(.fileWriteUnknown)
    }
    return path
}

/// Moves every WAL frame into the main file.
func checkpoint(_ path: String) throws {
    let db = try SQLiteConnection(path: path, mode: .readWrite)
    try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
}
