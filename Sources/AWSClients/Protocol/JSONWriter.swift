public import CostGuardCore

/// A request shape written straight to JSON bytes, without Foundation's `JSONEncoder`.
///
/// For the few inputs a pass sends by the dozen (the list calls); everything else stays `Encodable`. A conforming
/// type must write what its `Encodable` conformance encodes: the same members with equal values, an absent
/// optional left out (key order aside). A test checks it against `JSONEncoder`.
public protocol JSONWritable {
    func write(to writer: inout JSONObjectWriter)
}

extension JSONWritable {
    /// The whole object as UTF-8 bytes.
    func jsonBody() -> [UInt8] {
        var writer = JSONObjectWriter()
        write(to: &writer)
        return writer.finish()
    }
}

/// Writes one flat JSON object, member by member; `nil` members are left out, as `JSONEncoder` leaves out an
/// absent optional.
public struct JSONObjectWriter {
    private var text = "{"

    init() {}

    private mutating func key(_ name: String) {
        if text.utf8.count > 1 { text += "," }
        text += JSONText.quoted(name) + ":"
    }

    public mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        text += JSONText.quoted(value)
    }

    public mutating func member(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        text += String(value)
    }

    public mutating func member(_ name: String, _ values: [String]?) {
        guard let values else { return }
        key(name)
        text += "[" + values.map(JSONText.quoted).joined(separator: ",") + "]"
    }

    /// A time as AWS's JSON protocols send it (and `Timestamp`'s `Encodable` conformance encodes it): seconds
    /// since the epoch.
    public mutating func member(_ name: String, _ value: Timestamp?) {
        guard let value else { return }
        key(name)
        // `description` is the shortest text that reads back as the same Double, as JSONEncoder writes it.
        text += value.secondsSinceEpoch.description
    }

    func finish() -> [UInt8] { Array((text + "}").utf8) }
}
