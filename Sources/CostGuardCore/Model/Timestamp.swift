/// A point in time, in whole milliseconds since the Unix epoch (UTC).
///
/// CostGuard never reads the clock in its core: a `Timestamp` comes from AWS (`startDate`, `stopDate`, …) or from
/// the clock the caller injects. The ledger stores it as ISO-8601 text (`2026-11-24T20:39:46.123Z`).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// From seconds since the epoch, as AWS JSON protocols send timestamps (`1795549847.221`).
    public init(secondsSinceEpoch: Double) {
        self.millisecondsSinceEpoch = Int64((secondsSinceEpoch * 1000).rounded())
    }

    /// The largest magnitude of epoch seconds accepted from outside (about the year 4970).
    public static let maximumSecondsSinceEpoch: Double = 94_670_000_000

    /// From epoch seconds read from outside (an AWS answer); nil when they are not a plausible time (not finite, or
    /// beyond ±`maximumSecondsSinceEpoch`, which would also trap converting to milliseconds).
    public init?(plausibleSecondsSinceEpoch seconds: Double) {
        guard seconds.isFinite, abs(seconds) < Self.maximumSecondsSinceEpoch else { return nil }
        self.init(secondsSinceEpoch: seconds)
    }

    /// Seconds since the epoch.
    public var secondsSinceEpoch: Double { Double(millisecondsSinceEpoch) / 1000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// This time moved by `duration`.
    public func adding(_ duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(
            millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1000 + attoseconds / 1_000_000_000_000_000
        )
    }

    /// The time from `earlier` to this one.
    public func since(_ earlier: Timestamp) -> Duration {
        .milliseconds(millisecondsSinceEpoch - earlier.millisecondsSinceEpoch)
    }

    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-24T20:39:46.123Z`.
    public var iso8601: String {
        let ms = millisecondsSinceEpoch
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        // Civil-from-days (proleptic Gregorian), after Howard Hinnant's algorithm.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        guard (0...9999).contains(year) else {
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
                + ".\(pad(milli, 3))Z"
        }
        // Four-digit years (every time CostGuard meets): the 24 bytes written in place, as a pass formats thousands.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var position = 0
            for (value, width, separator) in [
                (year, 4, "-"), (month, 2, "-"), (day, 2, "T"), (hour, 2, ":"), (minute, 2, ":"), (second, 2, "."),
                (milli, 3, "Z"),
            ] as [(Int64, Int, Unicode.Scalar)] {
                var rest = value
                for offset in stride(from: position + width - 1, through: position, by: -1) {
                    buffer[offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                buffer[position + width] = UInt8(ascii: separator)
                position += width + 1
            }
            return position
        }
    }

    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`; `nil` for anything else.
    public init?(iso8601 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Timestamp.parse(Array($0)) }) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: [UInt8]) -> Timestamp? {
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20,
            let year = number(0, 4), bytes[4] == 45, let month = number(5, 2), bytes[7] == 45,
            let day = number(8, 2), bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32,
            let hour = number(11, 2), bytes[13] == 58, let minute = number(14, 2), bytes[16] == 58,
            let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if index < bytes.count && bytes[index] == 46 {
            index += 1
            var scale: Int64 = 100
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                millis += Int64(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetMinutes: Int64 = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case 90, 122:  // Z z
            index += 1
        case 43, 45:  // + -
            guard let oh = number(index + 1, 2), bytes.count > index + 3, bytes[index + 3] == 58,
                let om = number(index + 4, 2)
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (bytes[index] == 45 ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        // Days-from-civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * mp + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + millis)
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

extension Timestamp: Codable {
    /// Decodes epoch seconds (how AWS JSON protocols send timestamps) or ISO-8601 text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            // AWS sends epoch seconds; anything beyond ±3000 years is a broken answer, not a time (and would trap
            // converting to milliseconds). Found by fuzzing the history decoder.
            guard let time = Timestamp(plausibleSecondsSinceEpoch: seconds) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "\(seconds) is not a plausible time in epoch seconds"
                )
            }
            self = time
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "'\(text)' is neither epoch seconds nor an ISO-8601 timestamp"
            )
        }
        self = parsed
    }

    /// Encodes epoch seconds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(secondsSinceEpoch)
    }
}
