import CostGuardCore
import Foundation
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test("formats like ISO8601DateFormatter with fractional seconds, across eras and leap days")
    func formatMatchesFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        let fixed: [Int64] = [0, 951_782_400_000, 1_795_549_847_221, 4_102_444_799_999, -1, -86_400_001]
        let random = (0..<2000).map { _ in Int64.random(in: -2_000_000_000_000...5_000_000_000_000, using: &generator) }
        for ms in fixed + random {
            let ours = Timestamp(millisecondsSinceEpoch: ms).iso8601
            let theirs = formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            #expect(ours == theirs, "\(ms)")
            #expect(Timestamp(iso8601: ours)?.millisecondsSinceEpoch == ms)
        }
    }

    @Test("parses offsets, missing fractions and rejects garbage")
    func parse() {
        #expect(Timestamp(iso8601: "2026-11-24T20:39:46Z")?.millisecondsSinceEpoch == 1_795_552_786_000)
        #expect(Timestamp(iso8601: "2026-11-24T21:39:46.5+01:00")?.millisecondsSinceEpoch == 1_795_552_786_500)
        for bad in [
            "", "2026-11-24", "2026-13-01T00:00:00Z", "2026-11-24T20:39:46", "2026-11-24T20:39:46.Z",
            "2026-11-24T20:39:46Zjunk", "x026-11-24T20:39:46Z",
        ] {
            #expect(Timestamp(iso8601: bad) == nil, "\(bad)")
        }
    }

    @Test("seconds as AWS sends them round to the millisecond")
    func secondsSinceEpoch() {
        #expect(Timestamp(secondsSinceEpoch: 1_795_549_847.221).millisecondsSinceEpoch == 1_795_549_847_221)
        #expect(Timestamp(millisecondsSinceEpoch: 1000).adding(.seconds(90)).millisecondsSinceEpoch == 91_000)
    }

    @Test("a decoded time out of range is an error, not a trap (found by fuzzing: Tests/Fuzz/regressions/history)")
    func implausibleSeconds() throws {
        struct Box: Decodable { var t: Timestamp }
        for text in ["1e300", "-1e300", "171111111111111111111111111111111111111.0", "94670000001"] {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(Box.self, from: Data("{\"t\": \(text)}".utf8))
            }
        }
        let fine = try JSONDecoder().decode(Box.self, from: Data("{\"t\": 1732492800.5}".utf8))
        #expect(fine.t.millisecondsSinceEpoch == 1_732_492_800_500)
    }
}
