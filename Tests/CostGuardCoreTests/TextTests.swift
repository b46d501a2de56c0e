import CostGuardCore
import Testing

@Suite("JSON trees and text helpers (what Foundation's NSString bridge and JSONSerialization did)")
struct TextTests {
    @Test("JSONValue: every kind, nesting, a repeated key keeps its last value, and malformed documents fail")
    func jsonValue() throws {
        let value = try JSONValue(
            parsing:
                #" {"a": [1, -2.5e1, true, false, null, "x\u00e9\n"], "b": {"c": {}}, "a2": [], "d": "one", "d": "two"} "#
        )
        #expect(value["a"] == .array([.number(1), .number(-25), .bool(true), .bool(false), .null, .string("xé\n")]))
        #expect(value["b"]?["c"] == .object([:]))
        #expect(value["a2"]?.array == [])
        #expect(value["d"]?.string == "two")
        #expect(value["missing"] == nil)
        #expect(value["a"]?["a"] == nil)
        #expect(value.object?.count == 4)
        for bad in [
            "", "{", #"{"a" 1}"#, "[1,]", "{} {}", #"{"a": tru}"#, "\"\u{01}\"",
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ] {
            #expect(throws: JSONReadError.self, "\(bad.prefix(20))") { try JSONValue(parsing: bad) }
        }
    }

    @Test("trimming removes Unicode whitespace and newlines at both ends only")
    func trimming() {
        #expect(" \t\r\n a b \u{00A0}\u{2028}".trimmingWhitespaceAndNewlines == "a b")
        #expect("\r\n".trimmingWhitespaceAndNewlines == "")
        #expect("x".trimmingWhitespaceAndNewlines == "x")
        #expect(Substring("  tok\n").trimmingWhitespaceAndNewlines == "tok")
    }

    @Test("replacingEvery works on scalars: a quote followed by a combining mark is still a quote")
    func replacing() {
        #expect("it's".replacingEvery("'", with: "''") == "it''s")
        #expect("a\"\u{0301}b".replacingEvery("\"", with: "\"\"") == "a\"\"\u{0301}b")
        #expect("2026-12-05T10:00".replacingEvery("T", with: " ") == "2026-12-05 10:00")
        #expect("none".replacingEvery("'", with: "''") == "none")
    }

    @Test("two decimals, rounded half away from zero, sign kept")
    func decimals() {
        #expect(DecimalText.twoDecimals(12.3) == "12.30")
        #expect(DecimalText.twoDecimals(0.125) == "0.13")
        #expect(DecimalText.twoDecimals(1.999) == "2.00")
        #expect(DecimalText.twoDecimals(-3.456) == "-3.46")
        #expect(DecimalText.twoDecimals(0) == "0.00")
        #expect(DecimalText.twoDecimals(1_234_567.891) == "1234567.89")
    }

    @Test("globs: * matches any run; ** is two stars, not a pattern that never matches")
    func globs() {
        #expect(ReconcilePolicy.glob("a**e", matches: "abcde"))
        #expect(
            ReconcilePolicy.glob(
                "arn:*:stateMachine:etl-*",
                matches: "arn:aws:states:us-east-1:1:stateMachine:etl-daily"
            )
        )
        #expect(
            !ReconcilePolicy.glob(
                "arn:*:stateMachine:etl-*",
                matches: "arn:aws:states:us-east-1:1:stateMachine:ml-daily"
            )
        )
        #expect(!ReconcilePolicy.glob("a*b*b", matches: "ab"))
        #expect(ReconcilePolicy.glob("exact", matches: "exact"))
        #expect(!ReconcilePolicy.glob("exact", matches: "exactly"))
    }
}
