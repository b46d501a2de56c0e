import CostGuardCore
import Foundation
import Testing

@testable import CostGuardLedger

@Suite("Whole-file checks (quick_check) when due")
struct QuickCheckTests {
    let day = Duration.seconds(24 * 3600)

    @Test("the schedule: due without a record, at zero interval, when old, dated later, after a boot, of another file")
    func schedule() {
        let last = QuickCheckRecord(checkedAt: testNow, bootID: "boot-a", fileID: "2049:77")
        func due(
            _ record: QuickCheckRecord?,
            at now: Timestamp = testNow.adding(.seconds(3600)),
            boot: String = "boot-a",
            file: String = "2049:77",
            interval: Duration? = nil
        ) -> String? {
            QuickCheckSchedule.reasonDue(last: record, now: now, bootID: boot, fileID: file, interval: interval ?? day)
        }
        #expect(due(last) == nil)
        #expect(due(last, at: testNow) == nil)
        #expect(due(last, at: testNow.adding(day).adding(.milliseconds(-1))) == nil)
        #expect(due(nil)?.contains("no whole-file check") == true)
        #expect(due(last, interval: .zero)?.contains("every open") == true)
        #expect(due(last, at: testNow.adding(day))?.contains("1d old or older") == true)
        #expect(due(last, at: testNow.adding(.seconds(-1)))?.contains("clock was set back") == true)
        #expect(due(last, boot: "boot-b")?.contains("booted") == true)
        #expect(due(last, file: "2049:78")?.contains("not the one last checked") == true)
        #expect(due(last, file: "")?.contains("cannot be read") == true)
        // Where the system has no boot id, a record that has one (or none) decides by the other rules.
        let noBoot = QuickCheckRecord(checkedAt: testNow, bootID: "", fileID: "2049:77")
        #expect(due(noBoot, boot: "") == nil)
        #expect(due(noBoot, boot: "boot-a")?.contains("booted") == true)
    }

    @Test("this machine's boot id and a file's device and inode are read")
    func identities() throws {
        try withTemporaryDirectory { dir in
            #expect(QuickCheckSchedule.currentBootID().count == 36, "Linux: /proc/sys/kernel/random/boot_id")
            #expect(QuickCheckSchedule.currentBootID() == QuickCheckSchedule.currentBootID())
            _ = try createEmpty(dir + "/a")
            _ = try createEmpty(dir + "/b")
            let a = QuickCheckSchedule.fileID(of: dir + "/a")
            #expect(a.split(separator: ":").count == 2 && a != QuickCheckSchedule.fileID(of: dir + "/b"))
            #expect(QuickCheckSchedule.fileID(of: dir + "/missing") == "")
        }
    }

    @Test("a check is made and recorded at the first open, not again within the interval, again once it has passed")
    func recordedAtOpen() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let first = try #require(try Ledger.open(path: path, now: testNow).maintenance.lastQuickCheck())
            #expect(first.checkedAt == testNow)
            #expect(first.reason.contains("no whole-file check"))
            #expect(first.seconds >= 0)
            let later = testNow.adding(.seconds(23 * 3600))
            #expect(try Ledger.open(path: path, now: later).maintenance.lastQuickCheck()?.checkedAt == testNow)
            let dayLater = testNow.adding(day)
            let again = try #require(try Ledger.open(path: path, now: dayLater).maintenance.lastQuickCheck())
            #expect(again.checkedAt == dayLater && again.reason.contains("old or older"))
            var everyOpen = Ledger.Configuration()
            everyOpen.quickCheckInterval = .zero
            let next = dayLater.adding(.seconds(1))
            let ledger = try Ledger.open(path: path, now: next, configuration: everyOpen)
            #expect(try ledger.maintenance.lastQuickCheck()?.checkedAt == next)
            // The open's check stands for the first pass; every later pass checks again.
            _ = try ledger.journal.startPass(trigger: "reconcile", dryRun: true, at: next.adding(.seconds(1)))
            #expect(try ledger.maintenance.lastQuickCheck()?.checkedAt == next)
            _ = try ledger.journal.startPass(trigger: "serve", dryRun: true, at: next.adding(.seconds(2)))
            #expect(try ledger.maintenance.lastQuickCheck()?.checkedAt == next.adding(.seconds(2)))
        }
    }

    @Test("a serve that runs for days checks at the start of the first pass after the interval")
    func checkedAtPassStart() throws {
        try withTemporaryDirectory { dir in
            let ledger = try Ledger.open(path: dir + "/ledger.sqlite", now: testNow)
            _ = try ledger.journal.startPass(trigger: "serve", dryRun: true, at: testNow.adding(.seconds(600)))
            #expect(try ledger.maintenance.lastQuickCheck()?.checkedAt == testNow)
            let dayLater = testNow.adding(day).adding(.seconds(5))
            _ = try ledger.journal.startPass(trigger: "serve", dryRun: true, at: dayLater)
            let check = try #require(try ledger.maintenance.lastQuickCheck())
            #expect(check.checkedAt == dayLater && check.reason.contains("old or older"))
            _ = try ledger.journal.startPass(trigger: "serve", dryRun: true, at: dayLater.adding(.seconds(600)))
            #expect(try ledger.maintenance.lastQuickCheck()?.checkedAt == dayLater)
        }
    }

    /// A ledger of `batches` test batches, folded into the main file, with a page in the middle overwritten.
    func damagedLedger(_ path: String, batches: Int = 400) throws -> Data {
        do {
            let ledger = try Ledger.open(path: path, now: testNow)
            for n in 0..<batches { try ledger.testing_writeBatch(number: n, now: testNow) }
        }
        try checkpoint(path)
        var bytes = try #require(fileBytes(path))
        let pageSize = 4096
        let page = bytes.count / pageSize / 2
        for offset in (page * pageSize)..<((page + 1) * pageSize) { bytes[offset] = 0xA5 }
        try bytes.write(to: URL(fileURLWithPath: path))
        return bytes
    }

    @Test("damage in a page no open reads: unseen within the interval, refused (file untouched) once the check is due")
    func damageFoundWhenDue() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            let bytes = try damagedLedger(path)
            // Within the interval, on the same boot and file, no whole-file check is made.
            do { _ = try Ledger.open(path: path, now: testNow.adding(.seconds(60))) }
            try checkpoint(path)
            let damaged = try #require(fileBytes(path))
            let error = try #require(throws: LedgerError.self) { try Ledger.open(path: path, now: testNow.adding(day)) }
            #expect(error.code == .corrupt, "got \(error)")
            #expect(
                error.description.contains("quick_check found damage") && error.description.contains("backup"),
                "\(error)"
            )
            #expect(fileBytes(path) == damaged)
            #expect(damaged.count == bytes.count)
        }
    }

    @Test("a copy of the file, or the file after a boot, is checked before the first write, whatever the interval")
    func copyAndBoot() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ledger.sqlite"
            _ = try damagedLedger(path)
            // A copy (another inode) carries the record of the original: the file id tells them apart.
            let copy = dir + "/restored.sqlite"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            let copied = try #require(fileBytes(copy))
            let error = try #require(throws: LedgerError.self) {
                try Ledger.open(path: copy, now: testNow.adding(.seconds(60)))
            }
            #expect(error.code == .corrupt, "got \(error)")
            #expect(fileBytes(copy) == copied)
            // The record says another boot: the check is made.
            let db = try SQLiteConnection(path: path, mode: .readWrite)
            #expect(try db.run("UPDATE last_quick_check SET boot_id = 'an-earlier-boot'") == 1)
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            let before = try #require(fileBytes(path))
            let afterBoot = try #require(throws: LedgerError.self) {
                try Ledger.open(path: path, now: testNow.adding(.seconds(60)))
            }
            #expect(afterBoot.code == .corrupt, "got \(afterBoot)")
            #expect(fileBytes(path) == before)
        }
    }
}
