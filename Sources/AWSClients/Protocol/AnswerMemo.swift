internal import CostGuardCore
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The last answers to the list calls a pass repeats, with what was read from them: an answer byte for byte the same
/// as the one kept for the same request is not read again.
///
/// Reading an answer (`JSONReadable`) is a pure function of its bytes, so the value kept is exactly the value a new
/// read would give: nothing is assumed about what AWS sends, only compared. A steady pass asks the same questions
/// as the last one (the RUNNING executions of each state machine, the newest executions, the billing clusters) and
/// mostly gets the same answers; reading them was two fifths of such a pass's instructions (`Benchmarks/README.md`).
/// An answer that differs in any byte, or a request that differs (another page token), is read as before.
///
/// Bounded: answers larger than `entryLimit` bytes are not kept (a first pass's pages of 1000 executions are read
/// once), and past `byteLimit` bytes in all the least recently used answers go first. What is kept is the answer's
/// bytes and the value read from them (about as large again).
final class AnswerMemo: Sendable {
    struct Key: Hashable, Sendable {
        var operation: String
        /// The request's body (the JSON protocols put every parameter there).
        var request: [UInt8]
    }

    private struct Entry {
        var answer: [UInt8]
        var value: any JSONReadable
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var reused = 0
        var read = 0
    }

    /// Bytes of answers kept at most, all entries together. Default 2 MiB.
    let byteLimit: Int
    /// The largest answer kept. Default 512 KiB.
    let entryLimit: Int
    private let state = Mutex(State())

    init(byteLimit: Int = 2 << 20, entryLimit: Int = 512 << 10) {
        self.byteLimit = byteLimit
        self.entryLimit = entryLimit
    }

    /// How many answers were reused, and how many were read (since the client was made).
    var counts: (reused: Int, read: Int) { state.withLock { ($0.reused, $0.read) } }

    /// How many answers are kept, and their bytes.
    var kept: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }

    /// The value read from the answer kept for `key`, when that answer is byte for byte `answer`.
    func value(for key: Key, answer: [UInt8]) -> (any JSONReadable)? {
        state.withLock { state in
            // One lookup of the key (it hashes the whole request body), then the entry is used by its index.
            guard let index = state.entries.index(forKey: key), Self.equal(state.entries.values[index].answer, answer)
            else { return nil }
            state.clock += 1
            state.entries.values[index].lastUse = state.clock
            state.reused += 1
            return state.entries.values[index].value
        }
    }

    /// Keeps `value`, read from `answer`, for `key` (replacing what was kept for it), within the limits.
    func keep(_ value: any JSONReadable, for key: Key, answer: [UInt8]) {
        state.withLock { state in
            state.read += 1
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.answer.count }
            guard answer.count <= entryLimit, answer.count <= byteLimit else { return }
            state.clock += 1
            state.entries[key] = Entry(answer: answer, value: value, lastUse: state.clock)
            state.bytes += answer.count
            while state.bytes > byteLimit, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries[oldest.key] = nil
                state.bytes -= oldest.value.answer.count
            }
        }
    }

    /// Whether `a` and `b` hold the same bytes (`memcmp`: an answer of a few hundred kilobytes is compared in
    /// microseconds).
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in
                a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
            }
        }
    }
}
