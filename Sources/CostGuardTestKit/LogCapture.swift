public import Logging
import Synchronization

/// Captures every log line (message and metadata) in memory.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}
    public var all: [String] { lines.withLock { $0 } }
    public func append(_ line: String) { lines.withLock { $0.append(line) } }

    public var logger: Logger {
        var logger = Logger(label: "capture") { _ in CaptureHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CaptureHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append("\(event.level) \(event.message) \(self.metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }
}
