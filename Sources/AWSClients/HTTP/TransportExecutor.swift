internal import NIOCore
internal import NIOPosix

/// A task executor on one of the HTTP transport's event loops.
///
/// A pass makes its AWS calls one after another. Run on Swift's global executor, every call crosses threads
/// twice: the request is handed to the event loop that owns the connection (waking it), and the answer is handed
/// back to a pool thread (waking that one). Under this executor's preference (`withTaskExecutorPreference`) the code
/// between calls runs on the event loop itself and new connections are made on it: the request is written without
/// a hand-off and the awaiting code resumes on the same thread once the answer is read. Nothing else runs on that
/// loop while the pass computes or writes its ledger, and the pass waits for nothing but its own calls then.
public final class TransportExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// One event loop of the transport's group, the same for the whole process.
    public static let shared = TransportExecutor(loop: MultiThreadedEventLoopGroup.singleton.next())

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
