#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Why a document could not be read by `JSONReader`: where, and what was wrong.
public struct JSONReadError: Error, Sendable, CustomStringConvertible {
    /// Byte offset in the document.
    public var offset: Int
    public var message: String
    /// Where in the document, outermost first (keys, and `[index]` for array elements).
    public var path: [String] = []

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String {
        let location =
            path.isEmpty
            ? ""
            : " at "
                + path.enumerated().map { $0.offset == 0 || $0.element.hasPrefix("[") ? $0.element : "." + $0.element }
                .joined()
        return "\(message)\(location) (byte \(offset))"
    }

    func within(_ component: String) -> JSONReadError {
        var error = self
        error.path.insert(component, at: 0)
        return error
    }
}

/// A response shape read straight from JSON bytes by `JSONReader`, without Foundation's `JSONDecoder`.
///
/// For the few shapes a steady pass reads by the thousand (list items); everything else stays `Decodable`.
/// Whatever a conforming type accepts, its `Decodable` conformance must accept with an equal value; it may refuse
/// more (the reader is strict JSON also where `JSONDecoder` skips). A differential test and a fuzz target check it.
public protocol JSONReadable: Sendable {
    init(reading reader: inout JSONReader) throws(JSONReadError)
}

/// The keys an object shape reads (`JSONReader.readObject(fields:_:)`), at most 64, with their UTF-8 laid out once
/// so that a key is matched on its bytes.
public struct JSONFields: Sendable, ExpressibleByArrayLiteral {
    public let names: [String]
    /// Every name's UTF-8, back to back, and where each name's bytes are in it.
    private let utf8: [UInt8]
    private let spans: [(start: Int, count: Int)]

    public init(_ names: [String]) {
        precondition(names.count <= 64, "at most 64 fields")
        self.names = names
        var utf8: [UInt8] = []
        var spans: [(start: Int, count: Int)] = []
        for name in names {
            spans.append((utf8.count, name.utf8.count))
            utf8 += name.utf8
        }
        self.utf8 = utf8
        self.spans = spans
    }

    public init(arrayLiteral names: String...) {
        self.init(names)
    }

    /// The index of the name whose UTF-8 is exactly `raw`, trying `first` first, then the others in order.
    func index(of raw: UnsafeBufferPointer<UInt8>, from first: Int) -> Int? {
        guard let key = raw.baseAddress.map(UnsafeRawPointer.init) else {
            return spans.firstIndex { $0.count == 0 }
        }
        return utf8.withUnsafeBytes { table in
            spans.withUnsafeBufferPointer { spans in
                func matches(_ field: Int) -> Bool {
                    let span = spans[field]
                    guard span.count == raw.count else { return false }
                    // No table: every name is empty, and so is the key.
                    guard let base = table.baseAddress else { return true }
                    return Self.equal(base + span.start, key, raw.count)
                }
                if first < spans.count, matches(first) { return first }
                for field in 0..<spans.count where field != first && matches(field) { return field }
                return nil
            }
        }
    }

    /// Whether `count` bytes at `a` and `b` are equal (eight at a time, then one by one).
    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var offset = 0
        while offset + 8 <= count {
            guard
                a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            else { return false }
            offset += 8
        }
        while offset < count {
            guard a.load(fromByteOffset: offset, as: UInt8.self) == b.load(fromByteOffset: offset, as: UInt8.self)
            else { return false }
            offset += 1
        }
        return true
    }
}

/// A strict single-pass JSON reader (RFC 8259) over UTF-8 bytes, for hand-written decoders of response shapes.
///
/// Values are consumed in document order: `readObject` hands each key to the caller, which reads or skips its
/// value. Strings are validated (UTF-8, control characters, escapes including surrogate pairs), numbers follow the
/// JSON grammar, nesting is limited, and nothing but whitespace may follow the document.
public struct JSONReader: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// The last string read for each slot of `readString(repeated:)`.
    private var repeated: [String?] = []
    /// Nesting deeper than this is refused (as a malformed answer), so a hostile document cannot exhaust the stack.
    static let maximumDepth = 512

    /// Reads one document from `bytes` with `body`, and checks that nothing follows it.
    public static func read<T>(
        _ bytes: [UInt8],
        _ body: (inout JSONReader) throws(JSONReadError) -> T
    ) throws(JSONReadError) -> T {
        let result: Result<T, JSONReadError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(bytes: buffer)
            do throws(JSONReadError) {
                let value = try body(&reader)
                reader.skipWhitespace()
                guard reader.index == buffer.count else {
                    return .failure(reader.error("unexpected data after the document"))
                }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Checks that `bytes` is one well-formed JSON document. Run before `JSONDecoder` sees an answer: on some
    /// malformed input (deeply nested arrays) swift-foundation's scanner traps while describing the error, which
    /// would end the process instead of failing the call.
    public static func validate(_ bytes: [UInt8]) throws(JSONReadError) {
        try read(bytes) { (reader: inout JSONReader) throws(JSONReadError) in try reader.skipValue() }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    func error(_ message: String) -> JSONReadError {
        JSONReadError(offset: index, message: message)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The next significant byte, after whitespace (nil at the end).
    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONReadError) {
        guard peek() == byte else { throw error("expected \(what)") }
        index += 1
    }

    private mutating func literal(_ word: StaticString) throws(JSONReadError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of the document") }
        let start = word.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    /// Consumes `null` if it is next; returns whether it was.
    public mutating func readNull() throws(JSONReadError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// Reads an object: calls `body` with each key, which must read or skip the key's value.
    public mutating func readObject(
        _ body: (inout JSONReader, String) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        try readMembers { (reader: inout JSONReader) throws(JSONReadError) in
            let key = try reader.readString()
            try reader.expect(UInt8(ascii: ":"), "':' after a key")
            do throws(JSONReadError) {
                try body(&reader, key)
            } catch {
                throw error.within(key)
            }
        }
    }

    /// Reads an object whose keys of interest are `fields`: calls `body` with the index in `fields` of each such key,
    /// which must read its value; other keys' values are skipped (validated). A key of interest given twice is
    /// refused: which of the two values counts is ambiguous (decoders differ), so the answer is not trusted.
    public mutating func readObject(
        fields: JSONFields,
        _ body: (inout JSONReader, Int) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        var seen: UInt64 = 0
        // AWS sends an object's keys in the order of its shape's members, which is the order `fields` lists them in:
        // the field after the last one matched is tried first.
        var next = 0
        try readMembers { (reader: inout JSONReader) throws(JSONReadError) in
            // A key of printable ASCII without escapes (every key AWS sends) is matched on its bytes, without making
            // a string of it; any other key is decoded and compared as `readObject(_:)` does.
            let key: KeyText
            let field: Int?
            if let plain = reader.plainKey() {
                key = .plain(plain)
                field = fields.index(of: UnsafeBufferPointer(rebasing: reader.bytes[plain]), from: next)
            } else {
                let text = try reader.readString()
                key = .decoded(text)
                field = fields.names.firstIndex(of: text)
            }
            try reader.expect(UInt8(ascii: ":"), "':' after a key")
            do throws(JSONReadError) {
                if let field {
                    guard seen & (1 << field) == 0 else {
                        throw reader.error("the key \"\(fields.names[field])\" appears twice")
                    }
                    seen |= 1 << field
                    next = field + 1
                    try body(&reader, field)
                } else {
                    try reader.skipValue()
                }
            } catch {
                throw error.within(reader.text(of: key))
            }
        }
    }

    /// The braces and commas of an object: calls `member` at each member's key (an opening quote), to read the key,
    /// the colon and the value.
    private mutating func readMembers(_ member: (inout JSONReader) throws(JSONReadError) -> Void) throws(JSONReadError)
    {
        try expect(UInt8(ascii: "{"), "an object")
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a key") }
            try member(&self)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    /// A key as `readObject(fields:_:)` read it: the range of its bytes, or its decoded text.
    private enum KeyText {
        case plain(Range<Int>)
        case decoded(String)
    }

    private func text(of key: KeyText) -> String {
        switch key {
        case .plain(let range): String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        case .decoded(let text): text
        }
    }

    /// At a string's opening quote: when the string is printable ASCII without escapes, consumes it and returns the
    /// range of its bytes; otherwise consumes nothing.
    private mutating func plainKey() -> Range<Int>? {
        let quote = index
        index += 1
        skipPlainWords()
        var end = index
        index = quote
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let range = (index + 1)..<end
                index = end + 1
                return range
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            end += 1
        }
        return nil
    }

    /// Reads an array: calls `body` once per element, which must read or skip it.
    public mutating func readArray(_ body: (inout JSONReader) throws(JSONReadError) -> Void) throws(JSONReadError) {
        try expect(UInt8(ascii: "["), "an array")
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        var element = 0
        while true {
            do {
                try body(&self)
            } catch {
                throw error.within("[\(element)]")
            }
            element += 1
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func enter() throws(JSONReadError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    }

    /// Reads an array of `T`.
    public mutating func readArray<T: JSONReadable>(of type: T.Type) throws(JSONReadError) -> [T] {
        var result: [T] = []
        try readArray { (reader: inout JSONReader) throws(JSONReadError) in result.append(try T(reading: &reader)) }
        return result
    }

    /// Reads one page of a list answer: the items under the required key `items`, and the optional pagination token
    /// under `token`.
    public mutating func readPage<Item: JSONReadable>(
        items itemsKey: String,
        token tokenKey: String,
        of type: Item.Type
    ) throws(JSONReadError) -> (items: [Item], token: String?) {
        var items: [Item]?
        var token: String?
        try readObject(fields: JSONFields([itemsKey, tokenKey])) {
            (reader: inout JSONReader, field: Int) throws(JSONReadError) in
            if field == 0 {
                items = try reader.readArray(of: Item.self)
            } else {
                token = try reader.readOptionalString()
            }
        }
        guard let items else { throw missing(itemsKey) }
        return (items, token)
    }

    /// Reads a string that is usually the same as the last one read for `slot` (a number below 8 that the shape
    /// picks for the field: the state machine ARN of every item of a ListExecutions page, a cluster state's
    /// reason): when its bytes are that string's, that string is returned and no new one is made. Only a cache:
    /// the answer is what `readString()` reads.
    public mutating func readString(repeated slot: Int) throws(JSONReadError) -> String {
        if repeated.isEmpty { repeated = Array(repeating: nil, count: 8) }
        if peek() == UInt8(ascii: "\""), let range = plainKey() {
            let raw = UnsafeBufferPointer(rebasing: bytes[range])
            if let last = repeated[slot], Self.equal(last, raw) { return last }
            let text = String(decoding: raw, as: UTF8.self)
            repeated[slot] = text
            return text
        }
        let text = try readString()
        repeated[slot] = text
        return text
    }

    /// Whether `text`'s UTF-8 is `raw`.
    private static func equal(_ text: String, _ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == raw.count && (raw.isEmpty || memcmp(utf8.baseAddress!, raw.baseAddress!, raw.count) == 0)
        }
    }

    /// Reads a string.
    public mutating func readString() throws(JSONReadError) -> String {
        try expect(UInt8(ascii: "\""), "a string")
        let start = index
        // The common case: no escapes. Scan to the closing quote, then validate the UTF-8 once (ASCII needs none).
        // Eight bytes at a time while all are printable ASCII other than a quote or a backslash (every byte of an
        // ARN, an id or a name), then byte by byte from the first that is not.
        skipPlainWords()
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                let text = ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self)
                guard let text else { throw JSONReadError(offset: start, message: "a string is not valid UTF-8") }
                index += 1
                return text
            }
            ascii = ascii && byte < 0x80
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("a control character in a string") }
            index += 1
        }
        // Escapes: decode into a byte buffer.
        var decoded = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: decoded, as: UTF8.self) else {
                    throw JSONReadError(offset: start, message: "a string is not valid UTF-8")
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("an unpaired surrogate in a string") }
                        index += 2
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired surrogate in a string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("an unpaired surrogate in a string")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("an invalid \\u escape") }
                    decoded.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw error("an invalid escape in a string")
                }
            default:
                guard byte >= 0x20 else { throw error("a control character in a string") }
                decoded.append(byte)
                index += 1
            }
        }
        throw error("an unterminated string")
    }

    /// Advances over whole 8-byte words of printable ASCII holding no `"` and no `\\`.
    private mutating func skipPlainWords() {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            // A byte ≥ 0x80, a byte < 0x20, or a byte equal to '"' or '\\' (a zero byte after the XOR) sets its high
            // bit in `special`; the tests never miss such a byte (they may flag a byte that is none, which only stops
            // the word loop early).
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special =
                word | ((word &- ones &* 0x20) & ~word)
                | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
            guard special & highs == 0 else { return }
            index += 8
        }
    }

    private mutating func readHex4() throws(JSONReadError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("an incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("an invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A number as read: its text's range, and its digits when few enough to be exact in a `Double`.
    private struct NumberRead {
        var range: Range<Int>
        /// No fraction and no exponent.
        var integral: Bool
        /// The decimal digits as an integer (sign apart) when there are at most 15 and no exponent; the value is
        /// then `±digits / 10^fractionDigits`.
        var digits: UInt64?
        var fractionDigits: Int
        var negative: Bool
    }

    /// A number, checked against the JSON grammar.
    private mutating func readNumber() throws(JSONReadError) -> NumberRead {
        _ = peek()
        let start = index
        var integral = true
        var value: UInt64 = 0
        var count = 0
        func digits(_ reader: inout JSONReader, _ value: inout UInt64, _ count: inout Int) -> Int {
            let first = reader.index
            while reader.index < reader.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index])
            {
                if count < 16 { value = value &* 10 &+ UInt64(reader.bytes[reader.index] &- UInt8(ascii: "0")) }
                count += 1
                reader.index += 1
            }
            return reader.index - first
        }
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let leading = index
        let integerDigits = digits(&self, &value, &count)
        guard integerDigits > 0 else { throw error("expected a number") }
        guard integerDigits == 1 || bytes[leading] != UInt8(ascii: "0") else {
            throw error("a number with a leading zero")
        }
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            integral = false
            fractionDigits = digits(&self, &value, &count)
            guard fractionDigits > 0 else { throw error("a number without digits after '.'") }
        }
        var exponent = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            integral = false
            exponent = true
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            var ignored: UInt64 = 0
            var ignoredCount = 16
            guard digits(&self, &ignored, &ignoredCount) > 0 else { throw error("a number without exponent digits") }
        }
        return NumberRead(
            range: start..<index,
            integral: integral,
            digits: count <= 15 && !exponent ? value : nil,
            fractionDigits: fractionDigits,
            negative: negative
        )
    }

    private func text(of number: NumberRead) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[number.range]), as: UTF8.self)
    }

    /// Powers of ten a `Double` holds exactly.
    private static let exactPowersOfTen: [Double] = (0...15).map { (0..<$0).reduce(1.0) { value, _ in value * 10 } }

    /// Reads a number as a `Double`.
    public mutating func readDouble() throws(JSONReadError) -> Double {
        let number = try readNumber()
        if let digits = number.digits {
            // At most 15 digits and 10^15: both exact, so one correctly rounded division gives the nearest Double, the
            // same as parsing the text (the fast path of Clinger's algorithm).
            let magnitude = Double(digits) / Self.exactPowersOfTen[number.fractionDigits]
            return number.negative ? -magnitude : magnitude
        }
        let text = text(of: number)
        guard let value = Double(text), value.isFinite else {
            throw JSONReadError(offset: number.range.lowerBound, message: "\(text) is not a representable number")
        }
        return value
    }

    /// Reads an integer: a number that fits an `Int` exactly (`2`, `2.0` and `2e0` alike, as `JSONDecoder` does).
    public mutating func readInt() throws(JSONReadError) -> Int {
        let number = try readNumber()
        if number.integral, let digits = number.digits {
            return number.negative ? -Int(digits) : Int(digits)
        }
        let text = text(of: number)
        if number.integral, let value = Int(text) { return value }
        if !number.integral, let double = Double(text), double == double.rounded(), let value = Int(exactly: double) {
            return value
        }
        throw JSONReadError(offset: number.range.lowerBound, message: "\(text) is not an integer")
    }

    /// Reads a boolean.
    public mutating func readBool() throws(JSONReadError) -> Bool {
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default: throw error("expected true or false")
        }
    }

    /// Reads a time in epoch seconds, as AWS's JSON protocols send it, or ISO-8601 text (as `Timestamp`'s
    /// `Decodable` conformance accepts).
    public mutating func readTimestamp() throws(JSONReadError) -> Timestamp {
        let start = index
        if peek() == UInt8(ascii: "\"") {
            let text = try readString()
            guard let parsed = Timestamp(iso8601: text) else {
                throw JSONReadError(
                    offset: start,
                    message: "'\(text)' is neither epoch seconds nor an ISO-8601 timestamp"
                )
            }
            return parsed
        }
        let seconds = try readDouble()
        guard let time = Timestamp(plausibleSecondsSinceEpoch: seconds) else {
            throw JSONReadError(offset: start, message: "\(seconds) is not a plausible time in epoch seconds")
        }
        return time
    }

    /// Reads any value as a tree.
    public mutating func readValue() throws(JSONReadError) -> JSONValue {
        switch peek() {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try readObject { (reader: inout JSONReader, key: String) throws(JSONReadError) in
                members[key] = try reader.readValue()
            }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try readArray { (reader: inout JSONReader) throws(JSONReadError) in elements.append(try reader.readValue())
            }
            return .array(elements)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try readBool())
        case UInt8(ascii: "n"):
            _ = try readNull()
            return .null
        case nil: throw error("unexpected end of the document")
        default: return .number(try readDouble())
        }
    }

    /// Skips any value (validating it).
    public mutating func skipValue() throws(JSONReadError) {
        switch peek() {
        case UInt8(ascii: "{"):
            try readObject { (reader: inout JSONReader, _: String) throws(JSONReadError) in try reader.skipValue() }
        case UInt8(ascii: "["):
            try readArray { (reader: inout JSONReader) throws(JSONReadError) in try reader.skipValue() }
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
        case UInt8(ascii: "n"): _ = try readNull()
        case nil: throw error("unexpected end of the document")
        default: _ = try readNumber()
        }
    }

    // Optional fields: `null` reads as nil, as `decodeIfPresent` does.

    public mutating func readOptionalString() throws(JSONReadError) -> String? {
        try readNull() ? nil : try readString()
    }

    public mutating func readOptionalInt() throws(JSONReadError) -> Int? {
        try readNull() ? nil : try readInt()
    }

    public mutating func readOptionalTimestamp() throws(JSONReadError) -> Timestamp? {
        try readNull() ? nil : try readTimestamp()
    }

    /// Reads an optional object shape.
    public mutating func readOptional<T: JSONReadable>(_ type: T.Type) throws(JSONReadError) -> T? {
        try readNull() ? nil : try T(reading: &self)
    }

    /// The error for a required key missing from an object.
    public func missing(_ key: String) -> JSONReadError {
        JSONReadError(offset: index, message: "the required key \"\(key)\" is missing")
    }
}
