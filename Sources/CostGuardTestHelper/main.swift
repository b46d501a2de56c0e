// A helper that the ledger tests run as a real child process. It is never installed.
//
//   costguard-test-helper write-forever DB     writes "batches" in transactions until killed; each batch is a pass,
//                                              a state machine, an execution, a cluster and a journal decision that
//                                              share a batch number, so a half-written batch is easy to spot.
//   costguard-test-helper write-batches DB N   writes N batches, then exits.
import CostGuardCore
import CostGuardLedger
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: costguard-test-helper write-forever|write-batches DB [N]\n".utf8))
    exit(64)
}
let limit = arguments[1] == "write-batches" ? Int(arguments[3]) ?? 1 : Int.max
var clock = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)
do {
    let ledger = try Ledger.open(path: arguments[2], now: clock)
    print("ready")
    fflush(nil)
    var batch = try TestHelperBatches.nextBatch(ledger)
    while batch < limit {
        clock = clock.adding(.milliseconds(7))
        try TestHelperBatches.writeBatch(ledger, number: batch, now: clock)
        batch += 1
    }
} catch {
    FileHandle.standardError.write(Data("costguard-test-helper: \(error)\n".utf8))
    exit(74)
}
