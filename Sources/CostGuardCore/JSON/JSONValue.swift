/// A JSON document as a tree, for documents that are walked rather than read into a shape: state machine
/// definitions, and the parameters and outputs of tasks in execution histories.
///
/// Read by `JSONReader` (strict RFC 8259, nesting limited); a key given twice keeps its last value.
public indirect enum JSONValue: Sendable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// Reads `text` as one JSON document.
    public init(parsing text: String) throws(JSONReadError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Reads `bytes` (UTF-8) as one JSON document.
    public init(parsing bytes: [UInt8]) throws(JSONReadError) {
        self = try JSONReader.read(bytes) { (reader: inout JSONReader) throws(JSONReadError) in try reader.readValue() }
    }

    /// The value of `key` when this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    public var object: [String: JSONValue]? {
        if case .object(let members) = self { members } else { nil }
    }

    public var array: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    public var string: String? {
        if case .string(let text) = self { text } else { nil }
    }
}
