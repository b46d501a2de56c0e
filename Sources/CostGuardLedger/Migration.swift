internal import Crypto

/// One numbered schema migration, embedded from `Migrations/NNNN_name.sql` at build time.
package struct Migration: Sendable, Equatable {
    /// The number at the start of the file name.
    package let version: Int
    /// The file name, e.g. `0001_initial_ledger.sql`.
    package let name: String
    /// The SQL text, exactly as in the file.
    package let sql: String
    /// Lower-case hex SHA-256 of the file's bytes: an applied migration must keep it forever.
    package let checksum: String

    /// Builds a migration from a file name and its bytes.
    package init(name: String, bytes: [UInt8]) {
        self.name = name
        self.version = Int(name.prefix { $0.isNumber }) ?? 0
        self.sql = String(decoding: bytes, as: UTF8.self)
        self.checksum = SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension Migration {
    /// Every migration this binary knows, in order.
    ///
    /// `Migrations/` is the one source of the schema: SwiftPM embeds each file (the target links the folder) and
    /// this list names them. A test compares it with the files on disk, so a new file that is not listed here, or a
    /// listed one that changed, fails the build's tests.
    package static let all: [Migration] = [
        Migration(name: "0001_initial_ledger.sql", bytes: PackageResources._001_initial_ledger_sql),
        Migration(name: "0002_cluster_capacity.sql", bytes: PackageResources._002_cluster_capacity_sql),
        Migration(name: "0003_pass_costs.sql", bytes: PackageResources._003_pass_costs_sql),
        Migration(name: "0004_journal_intents.sql", bytes: PackageResources._004_journal_intents_sql),
        Migration(name: "0005_running_by_state_machine.sql", bytes: PackageResources._005_running_by_state_machine_sql),
        Migration(name: "0006_last_quick_check.sql", bytes: PackageResources._006_last_quick_check_sql),
        Migration(name: "0007_cluster_steps.sql", bytes: PackageResources._007_cluster_steps_sql),
        Migration(name: "0008_untracked_clusters.sql", bytes: PackageResources._008_untracked_clusters_sql),
        Migration(name: "0009_versions.sql", bytes: PackageResources._009_versions_sql),
        Migration(name: "0010_self_terminating.sql", bytes: PackageResources._010_self_terminating_sql),
        Migration(
            name: "0011_instance_group_references.sql",
            bytes: PackageResources._011_instance_group_references_sql
        ),
        Migration(name: "0012_notices.sql", bytes: PackageResources._012_notices_sql),
        Migration(name: "0013_notices_sns.sql", bytes: PackageResources._013_notices_sns_sql),
    ]

    /// The migration rebuilds a table (its first line is `-- costguard: rebuilds-tables`): the runner turns foreign
    /// keys off around it and checks them before it commits.
    package var rebuildsTables: Bool { sql.hasPrefix("-- costguard: rebuilds-tables\n") }

    /// The schema version this binary writes.
    package static var latestVersion: Int { all.last?.version ?? 0 }
}
