import CostGuardCore
import CostGuardLedger

/// The batches the helper writes: five related rows in one transaction.
enum TestHelperBatches {
    static func nextBatch(_ ledger: Ledger) throws(LedgerError) -> Int {
        try ledger.testing_count("SELECT count(*) FROM passes")
    }

    static func writeBatch(_ ledger: Ledger, number: Int, now: Timestamp) throws(LedgerError) {
        try ledger.testing_writeBatch(number: number, now: now)
    }
}
