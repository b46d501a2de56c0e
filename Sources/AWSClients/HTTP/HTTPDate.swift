public import CostGuardCore

/// Parses the HTTP `Date` header (IMF-fixdate, `Tue, 24 Nov 2026 20:39:46 GMT`), for clock-skew correction.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func parse(_ text: String) -> Timestamp? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3 else { return nil }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return Timestamp(iso8601: "\(year)-\(two(month + 1))-\(two(day))T\(time[0]):\(time[1]):\(time[2])Z")
    }
}
