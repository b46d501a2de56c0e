package import CostGuardCore

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The last `PRAGMA quick_check` of the whole ledger that found no damage (table `last_quick_check`).
package struct QuickCheckRecord: Sendable, Equatable {
    package var checkedAt: Timestamp
    /// The boot it was made in (`/proc/sys/kernel/random/boot_id`; empty where there is none).
    package var bootID: String
    /// The file it was made of: device and inode, `DEV:INO`.
    package var fileID: String

    package init(checkedAt: Timestamp, bootID: String, fileID: String) {
        self.checkedAt = checkedAt
        self.bootID = bootID
        self.fileID = fileID
    }
}

/// When the whole file is read through by `PRAGMA quick_check` before CostGuard writes to it.
///
/// The check reads every page: 1.7 s of CPU for a ledger of 100,000 clusters and 1,000,000 journal rows (250 MiB),
/// four times a steady `reconcile` pass, when it was made at every open. SQLite refuses a damaged page it reads
/// (`SQLITE_CORRUPT`; `cell_size_check` makes it look at each page more closely), so what the whole-file check adds
/// is the pages a pass does not read, where damage would otherwise wait until a write reaches them. It is made at
/// open and at the start of a pass when one of these holds (the first that does is recorded as the reason):
/// - no check is recorded: a new ledger, or one from before schema 6;
/// - the interval is zero (`quick_check_every = "0s"`: every open and pass);
/// - the last check is dated after now (a clock set back), or is as old as the interval (default 24 h);
/// - the machine booted since: a crash or a power loss, when files are damaged, ends with a boot;
/// - the file is not the one checked (another device or inode: a copy, a restore, a file moved into place), or
///   cannot be identified.
package enum QuickCheckSchedule {
    /// The default interval between two checks.
    package static let defaultInterval: Duration = .seconds(24 * 3600)

    /// Why a check is due now, or `nil` when the last one still holds.
    package static func reasonDue(
        last: QuickCheckRecord?,
        now: Timestamp,
        bootID: String,
        fileID: String,
        interval: Duration
    ) -> String? {
        guard let last else { return "no whole-file check is recorded" }
        if interval <= .zero { return "a check is made at every open and pass (quick_check_every = \"0s\")" }
        if last.checkedAt > now {
            return
                "the last check is dated \(last.checkedAt.iso8601), later than now (\(now.iso8601)): the clock was set back"
        }
        if now.since(last.checkedAt) >= interval {
            return "the last check (\(last.checkedAt.iso8601)) is \(DurationText.format(interval)) old or older"
        }
        if last.bootID != bootID { return "the machine booted since the last check (\(last.checkedAt.iso8601))" }
        if fileID.isEmpty { return "the file's device and inode cannot be read" }
        if last.fileID != fileID {
            return
                "the file is not the one last checked (device:inode \(fileID), was \(last.fileID)): a copy, a restore or a move"
        }
        return nil
    }

    /// This boot's id, or an empty string where the system has none.
    package static func currentBootID() -> String {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return ""
        }
        return text.filter { !$0.isWhitespace }
    }

    /// `DEV:INO` of the file at `path`, or an empty string when `stat` fails.
    package static func fileID(of path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "" }
        return "\(info.st_dev):\(info.st_ino)"
    }
}

/// What a writing `Ledger` knows of the whole-file checks: the last one, and what identifies this boot and file.
struct QuickCheckState {
    let interval: Duration
    var last: QuickCheckRecord?
    let bootID: String
    let fileID: String
    /// A check made at open stands for the first pass too (with `quick_check_every = "0s"` a `reconcile` would
    /// otherwise read the whole file twice in a row).
    var madeAtOpen = false

    /// A check made: what to record.
    struct Checked {
        var record: QuickCheckRecord
        var reason: String
        var seconds: Double
    }

    /// Checks the file when due (throwing `.corrupt` when it finds damage) and remembers the check.
    mutating func checkIfDue(_ db: SQLiteConnection, now: Timestamp) throws -> Checked? {
        if madeAtOpen {
            madeAtOpen = false
            return nil
        }
        guard
            let reason = QuickCheckSchedule.reasonDue(
                last: last,
                now: now,
                bootID: bootID,
                fileID: fileID,
                interval: interval
            )
        else { return nil }
        let seconds = try Ledger.quickCheck(db)
        let record = QuickCheckRecord(checkedAt: now, bootID: bootID, fileID: fileID)
        last = record
        return Checked(record: record, reason: reason, seconds: seconds)
    }
}

extension Ledger {
    /// The last check recorded in the file, with why it was made and how long it took; `nil` before schema 6, or
    /// when the row is unreadable (then one is made and the row rewritten).
    static func readLastQuickCheck(
        _ db: SQLiteConnection
    ) throws -> (record: QuickCheckRecord, reason: String, seconds: Double)? {
        guard try !db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'last_quick_check'").isEmpty,
            let row = try db.query(
                "SELECT checked_at, boot_id, file_id, reason, seconds FROM last_quick_check WHERE id = 1"
            ).first,
            let at = row[0].text.flatMap(Timestamp.init(iso8601:)), let boot = row[1].text, let file = row[2].text
        else { return nil }
        return (QuickCheckRecord(checkedAt: at, bootID: boot, fileID: file), row[3].text ?? "", row[4].real ?? 0)
    }

    /// Runs `PRAGMA quick_check`; throws `.corrupt` naming what it found. Returns the seconds it took.
    static func quickCheck(_ db: SQLiteConnection) throws -> Double {
        let started = ContinuousClock.now
        let problems = try quickCheckProblems(db)
        if !problems.isEmpty {
            throw LedgerError(
                .corrupt,
                path: db.path,
                message: "SQLite's quick_check found damage: \(problems.joined(separator: "; "))",
                fix: "stop CostGuard, move the file aside, and restore the last 'costguard ledger backup' copy "
                    + "(or start with an empty ledger: CostGuard rediscovers clusters from execution histories)"
            )
        }
        let elapsed = (ContinuousClock.now - started).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    /// What `PRAGMA quick_check` lists, or the error it stopped on when a page is so damaged (SQLITE_CORRUPT,
    /// SQLITE_NOTADB) that it cannot list it.
    static func quickCheckProblems(_ db: SQLiteConnection) throws -> [String] {
        var problems: [String] = []
        do {
            for row in try db.query("PRAGMA quick_check(5)") {
                if let text = row[0].text, text != "ok" { problems.append(text) }
            }
        } catch {
            guard error.primaryCode == 11 || error.primaryCode == 26 else { throw error }
            problems.append(error.message)
        }
        return problems
    }

    /// Writes `record` as the last check (inside the caller's transaction).
    static func recordQuickCheck(
        _ db: SQLiteConnection,
        _ record: QuickCheckRecord,
        reason: String,
        seconds: Double
    ) throws {
        _ = try db.run(
            """
            INSERT INTO last_quick_check (id, checked_at, boot_id, file_id, reason, seconds) VALUES (1, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, boot_id = excluded.boot_id,
                file_id = excluded.file_id, reason = excluded.reason, seconds = excluded.seconds
            """,
            [
                .text(record.checkedAt.iso8601), .text(record.bootID), .text(record.fileID), .text(reason),
                .real(max(0, seconds)),
            ]
        )
    }

}
