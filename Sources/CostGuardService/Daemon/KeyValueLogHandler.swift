import CostGuardCore
public import Logging

/// One line per event on stderr with stable `key=value` fields.
///
/// - When stderr is the journal (`JOURNAL_STREAM` is set), each line starts with the syslog priority (`<4>`) and
///   has no timestamp (journald adds both), so `journalctl -p warning` works.
/// - Otherwise: `2026-11-24T22:31:38.123Z warning message key=value`.
/// - `json`: one JSON object per line (`time`, `level`, `message`, and the metadata).
public struct KeyValueLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let format: Format
    let journal: Bool
    let label: String

    public init(label: String, level: Logger.Level, format: Format, environment: [String: String]) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.journal = environment["JOURNAL_STREAM"].map { !$0.isEmpty } ?? false
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let (level, message, explicit) = (event.level, event.message, event.metadata)
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        let text: String
        switch format {
        case .json:
            var object: [String: String] = ["level": "\(level)", "message": "\(message)", "logger": label]
            if !journal { object["time"] = Timestamp.systemNow().iso8601 }
            for (key, value) in merged { object[key] = "\(value)" }
            let fields = object.keys.sorted().map { "\(Self.quote($0)):\(Self.quote(object[$0]!))" }
            text = (journal ? "<\(Self.priority(level))>" : "") + "{" + fields.joined(separator: ",") + "}"
        case .text:
            let fields = merged.keys.sorted().map { key in "\(key)=\(Self.value("\(merged[key]!)"))" }
            let head = journal ? "<\(Self.priority(level))>" : "\(Timestamp.systemNow().iso8601) \(level) "
            text = head + "\(message)" + (fields.isEmpty ? "" : " " + fields.joined(separator: " "))
        }
        StandardStream.error(text + "\n")
    }

    /// syslog priorities, as journald reads them from `<N>` prefixes.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// A value, quoted when it holds spaces, quotes or `=`.
    static func value(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) ? quote(text) : text
    }

    static func quote(_ text: String) -> String { JSONText.quoted(text) }
}
