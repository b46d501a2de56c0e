/// A value bound to, or read from, an SQLite statement.
package enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The text, or `nil` for any other storage class.
    package var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The integer, or `nil` for any other storage class.
    package var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The number as a `Double` for integers and reals, else `nil`.
    package var real: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// `true` for `.null`.
    package var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    package init(stringLiteral value: String) { self = .text(value) }
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    /// Text or NULL.
    package static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    /// Integer or NULL.
    package static func optional(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
    /// A Boolean stored as 0/1, or NULL when unknown.
    package static func optional(_ value: Bool?) -> SQLValue { value.map { .integer($0 ? 1 : 0) } ?? .null }
    /// A Boolean stored as 0/1.
    package static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
}

/// One result row: values by column position, with lookup by column name.
package struct SQLRow: Sendable {
    /// Column positions by name, shared by every row of a statement.
    package let index: [String: Int]
    package let values: [SQLValue]

    /// The value of the named column; `.null` when there is no such column.
    package subscript(_ name: String) -> SQLValue {
        guard let position = index[name] else { return .null }
        return values[position]
    }

    /// The value at a column position.
    package subscript(_ index: Int) -> SQLValue { values[index] }
}
