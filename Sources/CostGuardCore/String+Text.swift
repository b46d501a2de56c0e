/// Text helpers that Foundation's `NSString` bridge would otherwise provide (CostGuard links only
/// FoundationEssentials, which has neither `CharacterSet` trimming nor `replacingOccurrences`).
extension StringProtocol {
    /// Without leading and trailing whitespace and newlines (the Unicode White_Space property, as
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`).
    public var trimmingWhitespaceAndNewlines: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }

    /// Every `scalar` replaced by `replacement`, compared scalar by scalar: a quote followed by a combining mark is
    /// one `Character` but still a quote to a CSV or SQL reader, so it is replaced too (as Foundation's literal
    /// `replacingOccurrences` does).
    public func replacingEvery(_ scalar: Unicode.Scalar, with replacement: String) -> String {
        guard unicodeScalars.contains(scalar) else { return String(self) }
        var out = String.UnicodeScalarView()
        for each in unicodeScalars {
            if each == scalar { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(each) }
        }
        return String(out)
    }
}

/// Numbers as text without Foundation's formatters.
public enum DecimalText {
    /// `12.30`: two decimals, rounded half away from zero; a negative value keeps its sign (`-0.004` is `-0.00`).
    /// `value` must be finite.
    public static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int64((abs(value) * 100).rounded())
        let fraction = hundredths % 100
        return (value < 0 ? "-" : "") + "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
