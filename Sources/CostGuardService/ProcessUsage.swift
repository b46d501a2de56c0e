#if canImport(Glibc)
internal import Glibc
#endif
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// What this process has spent: CPU time and resident memory, recorded with each pass.
public enum ProcessUsage {
    /// User plus system CPU time since the process started, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The resident set size now (`/proc/self/statm`), in bytes; `nil` where there is no procfs.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension ProcessUsage {
    /// Limits glibc's malloc to two arenas. By default glibc gives threads up to 8 × cores arenas, each keeping
    /// freed memory; a small daemon with a dozen threads (NIO, the concurrency pool) then holds several MB it does
    /// not use. Call before threads start.
    public static func limitMallocArenas() {
        #if os(Linux)
        let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = glibcMallopt(mArenaMax, 2)
        #endif
    }
}

#if os(Linux)
/// glibc's `int mallopt(int, int)` (malloc.h is not part of the Glibc module).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
