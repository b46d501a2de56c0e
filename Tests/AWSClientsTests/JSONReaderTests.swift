import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

@testable import AWSClients

/// The hand-written readers of the list shapes must accept and reject what `JSONDecoder` does, with equal values.
@Suite("JSON reader of list responses")
struct JSONReaderTests {
    /// Decodes `text` both ways: (reader's value or nil, decoder's value or nil, reader's error).
    func both<T: JSONReadable & Decodable & Equatable>(_ type: T.Type, _ bytes: [UInt8]) -> (T?, T?, JSONReadError?) {
        var readError: JSONReadError?
        var read: T?
        do {
            read = try JSONReader.read(bytes) { (reader: inout JSONReader) throws(JSONReadError) in
                try T(reading: &reader)
            }
        } catch {
            readError = error
        }
        let decoded = try? JSONDecoder().decode(T.self, from: Data(bytes))
        return (read, decoded, readError)
    }

    @Test("AWS-shaped answers read the same as with JSONDecoder")
    func wellFormed() throws {
        let executions = """
            {"executions":[{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:m:e1",
              "stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:m","name":"e1","status":"RUNNING",
              "startDate":1.7641e9,"redriveCount":0,"itemCount":3,"extra":{"a":[1,2,{"b":null}],"c":true}},
             {"executionArn":"x","stateMachineArn":"y","status":"ABORTED","startDate":"2026-11-25T01:02:03.456Z",
              "stopDate":1764100000.25,"mapRunArn":null,"redriveDate":null,"name":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/"}],
             "nextToken":"tok\\n"}
            """
        let (read, decoded, error) = both(SFN.ListExecutionsOutput.self, Array(executions.utf8))
        #expect(error == nil)
        #expect(read != nil && read?.executions == decoded?.executions && read?.nextToken == decoded?.nextToken)
        #expect(read?.executions[1].name == "café 😀 \"q\" \\ /")
        #expect(read?.executions[1].startDate == Timestamp(iso8601: "2026-11-25T01:02:03.456Z"))
        let clusters = """
            { "Clusters" : [ {"Id":"j-1","Name":"a","Status":{"State":"WAITING","StateChangeReason":{"Code":"ok","Message":"m"},
              "Timeline":{"CreationDateTime":1764000000,"ReadyDateTime":1764000100.5}},"NormalizedInstanceHours":32,
              "ClusterArn":"arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/j-1","OutpostArn":"o"},
              {"Id":"j-2","Status":{"State":"STARTING","StateChangeReason":{},"Timeline":null},"NormalizedInstanceHours":2.0} ],
              "Marker":null }
            """
        let (readClusters, decodedClusters, clusterError) = both(EMR.ListClustersOutput.self, Array(clusters.utf8))
        #expect(clusterError == nil)
        #expect(readClusters?.clusters == decodedClusters?.clusters && readClusters?.clusters.count == 2)
        #expect(readClusters?.clusters[1].normalizedInstanceHours == 2)
        let machines = """
            {"stateMachines":[{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:m","name":"m",
              "type":"STANDARD","creationDate":1.7641e9},
             {"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:n","name":"n\\u00e9","type":null,
              "creationDate":"2026-11-25T01:02:03.456Z","extra":[{}]}],"nextToken":"t"}
            """
        let (readMachines, decodedMachines, machinesError) = both(
            SFN.ListStateMachinesOutput.self,
            Array(machines.utf8)
        )
        #expect(machinesError == nil)
        #expect(readMachines != nil && readMachines == decodedMachines && readMachines?.stateMachines.count == 2)
        #expect(readMachines?.stateMachines[1].name == "né" && readMachines?.nextToken == "t")
        let (unnamed, _, unnamedError) = both(
            SFN.ListStateMachinesOutput.self,
            Array(#"{"stateMachines":[{"stateMachineArn":"a"}]}"#.utf8)
        )
        #expect(unnamed == nil && unnamedError?.description.contains("name") == true)
    }

    /// The reader is strict JSON (RFC 8259) everywhere, also inside keys it skips; `JSONDecoder` does not look
    /// closely at what it skips (it takes `[1,2,]` or `"\\x"` in an unknown key, and a trailing comma in an
    /// object). Where they differ, the reader refuses: a malformed answer fails the call (closed), never half-read.
    @Test(
        "malformed answers are refused, naming where",
        arguments: [
            (
                #"{"executions":[{"stateMachineArn":"y","status":"RUNNING","startDate":1}]}"#, "executionArn",
                "executions[0]", true
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":"soon"}]}"#,
                "neither epoch", "executions[0].startDate", true
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1e300}]}"#,
                "plausible", "executions[0].startDate", true
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":null,"startDate":1}]}"#,
                "expected a string", "executions[0].status", true
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1,"redriveCount":1.5}]}"#,
                "not an integer", "executions[0].redriveCount", true
            ),
            (#"{"executions":[],"nextToken":"a"} x"#, "after the document", nil, true),
            (
                "{\"executions\":[{\"executionArn\":\"x\u{01}\"}]}", "control character", "executions[0].executionArn",
                true
            ),
            (#"{"executions":[{"executionArn":"\ud800"}]}"#, "unpaired surrogate", "executions[0].executionArn", true),
            (#"{"executions":[}"#, "expected an object", "executions[0]", true),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1,"u":tru}]}"#,
                "invalid literal", "executions[0].u", true
            ),
            (#"{"nextToken":"a"}"#, "\"executions\" is missing", nil, true),
            (#""#, "expected an object", nil, true),
            // Refused by the reader, taken by JSONDecoder (lenient in what it skips).
            (#"{"executions":[],}"#, "expected a key", nil, false),
            (
                #"{"executions":[{"executionArn":"x","name":"a","stateMachineArn":"y","status":"RUNNING","startDate":1,"name":"b"}]}"#,
                "\"name\" appears twice", "executions[0].name", false
            ),
            (#"{"executions":[], "u": 01}"#, "leading zero", "u", false),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1,"u":[1,2,]}]}"#,
                "expected a number", "executions[0].u[2]", false
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1,"u":"\x"}]}"#,
                "invalid escape", "executions[0].u", false
            ),
            (
                #"{"executions":[{"executionArn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1,"u":-}]}"#,
                "expected a number", "executions[0].u", false
            ),
        ]
    )
    func malformed(text: String, message: String, path: String?, decoderRefuses: Bool) {
        let (read, decoded, error) = both(SFN.ListExecutionsOutput.self, Array(text.utf8))
        #expect(read == nil, "the reader refuses \(text)")
        #expect((decoded == nil) == decoderRefuses, "JSONDecoder \(decoderRefuses ? "refuses" : "takes") \(text)")
        let description = error.map { "\($0)" } ?? "no error"
        #expect(description.contains(message), "\(description) says \(message)")
        if let path { #expect(description.contains(" at \(path) "), "\(description) names \(path)") }
    }

    @Test("validate refuses the input that makes JSONDecoder trap (a fuzz finding) and takes well-formed documents")
    func validation() throws {
        let finding = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fuzz/regressions/lists/jsondecoder-traps-on-deep-arrays")
        let bytes = try Array(Data(contentsOf: finding))
        #expect(throws: JSONReadError.self) { try JSONReader.validate(bytes) }
        try JSONReader.validate(Array(#" {"a":[1,-2.5e3,{"b":null,"c":true}],"d":"\u00e9\n"} "#.utf8))
        #expect(throws: JSONReadError.self) { try JSONReader.validate(Array(#"{"a":1} {"#.utf8)) }
    }

    @Test("nesting is bounded")
    func depth() {
        let deep =
            "{\"executions\":[],\"u\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            + "}"
        let (read, _, error) = both(SFN.ListExecutionsOutput.self, Array(deep.utf8))
        #expect(read == nil)
        #expect("\(error.map { "\($0)" } ?? "")".contains("nesting deeper"))
    }

    /// Numbers of up to 15 digits are computed from their digits, longer ones and exponents parsed from the text:
    /// either way the value must be the one `Double(text)` and `Int(text)` give, to the bit.
    @Test("numbers read as Double(text) and Int(text) do, at and around the 15-digit fast path")
    func numbers() throws {
        var random = SplitMix(seed: 0x4E55_4D42)
        var texts = [
            "0", "-0", "0.0", "-0.0", "5e-324", "1.7976931348623157e308", "999999999999999", "9999999999999999",
            "123456789012345.6", "0.000000000000001", "0.1", "0.3", "1764000000.125", "1764000000.1234567",
            "9007199254740993", "-1764000000.999", "2.0", "17E2", "1e0", "100000000000000000000",
        ]
        for _ in 0..<20_000 {
            let digits = "0123456789"
            func run(_ count: Int) -> String { String((0..<count).map { _ in digits.randomElement(using: &random)! }) }
            var integer = run(1 + random.next(upTo: 18))
            while integer.count > 1 && integer.hasPrefix("0") { integer.removeFirst() }
            var text = (random.next(upTo: 4) == 0 ? "-" : "") + integer
            if random.next(upTo: 2) == 0 { text += "." + run(1 + random.next(upTo: 17)) }
            if random.next(upTo: 8) == 0 {
                text += "e" + (random.next(upTo: 2) == 0 ? "-" : "") + String(random.next(upTo: 30))
            }
            texts.append(text)
        }
        var fast = 0
        for text in texts {
            let bytes = Array(text.utf8)
            let double = try? JSONReader.read(bytes) { (reader: inout JSONReader) throws(JSONReadError) in
                try reader.readDouble()
            }
            let expected = Double(text).flatMap { $0.isFinite ? $0 : nil }
            #expect(
                double?.bitPattern == expected?.bitPattern,
                "\(text): \(String(describing: double)) against \(String(describing: expected))"
            )
            let integer = try? JSONReader.read(bytes) { (reader: inout JSONReader) throws(JSONReadError) in
                try reader.readInt()
            }
            let expectedInteger = Int(text) ?? Double(text).flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil }
            #expect(integer == expectedInteger, "\(text)")
            if text.filter(\.isNumber).count <= 15 && !text.contains("e") { fast += 1 }
        }
        #expect(fast > 5000, "numbers on the fast path: \(fast)")
    }

    /// Keys are matched on their bytes when plain; an escaped spelling of a field's name is the same key (and a
    /// repeat of it is refused), as with `JSONDecoder`.
    @Test("escaped and plain spellings of a key are one key")
    func escapedKeys() throws {
        let escaped =
            #"{"executions":[{"execution\u0041rn":"x","stateMachineArn":"y","status":"RUNNING","startDate":1}]}"#
        let (read, decoded, error) = both(SFN.ListExecutionsOutput.self, Array(escaped.utf8))
        #expect(error == nil && read?.executions.first?.executionArn == "x" && read?.executions == decoded?.executions)
        let twice =
            #"{"executions":[{"executionArn":"x","execution\u0041rn":"z","stateMachineArn":"y","status":"RUNNING","startDate":1}]}"#
        let (readTwice, _, twiceError) = both(SFN.ListExecutionsOutput.self, Array(twice.utf8))
        #expect(readTwice == nil)
        #expect(
            twiceError?.description.contains(#"the key "executionArn" appears twice"#) == true,
            "\(String(describing: twiceError))"
        )
        let damagedSkipped = #"{"executions":[],"Unknown":{"a":[1,}}"#
        let (_, _, skippedError) = both(SFN.ListExecutionsOutput.self, Array(damagedSkipped.utf8))
        #expect(skippedError?.path.first == "Unknown", "\(String(describing: skippedError))")
    }

    /// Strings are scanned eight bytes at a time until a word holds a byte that is not plain printable ASCII: every
    /// such byte, at every position of strings of 0 to 40 bytes and at every alignment, must be seen as the byte loop
    /// sees it (the same value, or the same refusal, as `JSONDecoder`).
    @Test("a special byte anywhere in a long string is read as JSONDecoder reads it, at every alignment")
    func wordScan() throws {
        let specials: [(bytes: [UInt8], valid: Bool)] = [
            (Array(#"\""#.utf8), true), (Array(#"\\"#.utf8), true), (Array(#"\n"#.utf8), true),
            (Array(#"\u00e9"#.utf8), true),
            ([0xC3, 0xA9], true), ([0xE6, 0x97, 0xA5], true), ([0x7F], true), ([0x20], true), ([0x21], true),
            ([0x5D], true),
            ([0x01], false), ([0x1F], false), ([0x0A], false), ([0xFF], false), ([0xC3], false), ([0x22], false),
        ]
        var checked = 0
        var disagreements: [String] = []
        for length in 0...40 {
            for position in 0...length {
                for special in specials {
                    let filler = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                    let text = Array(filler[..<position]) + special.bytes + Array(filler[position...])
                    for pad in 0..<8 {
                        let bytes =
                            Array(
                                #"{"executions":[{"stateMachineArn":"y","status":"RUNNING","startDate":1,"executionArn":"#
                                    .utf8
                            )
                            + Array(repeating: UInt8(ascii: " "), count: pad) + [UInt8(ascii: "\"")] + text
                            + Array(#""}]}"#.utf8)
                        let (read, decoded, _) = both(SFN.ListExecutionsOutput.self, bytes)
                        checked += 1
                        let agree =
                            (read != nil) == (decoded != nil) && read == decoded && (read != nil) == special.valid
                        if !agree { disagreements.append(String(decoding: bytes, as: UTF8.self)) }
                    }
                }
            }
        }
        let disagreeing = disagreements.count
        #expect(disagreeing == 0, "\(disagreeing) of \(checked) documents; first: \(disagreements.first ?? "")")
    }

    /// A page's items repeat their state machine's ARN (and clusters their state's reason): the reader keeps one
    /// string for a run of equal ones, and reads every value as `JSONDecoder` does whatever the run holds (escaped
    /// spellings of the same text, other texts, non-ASCII, empty).
    @Test("repeated strings are shared across a page's items and read as JSONDecoder reads them")
    func repeatedStrings() throws {
        let arns = [
            "arn:aws:states:us-east-1:1:stateMachine:a", "arn:aws:states:us-east-1:1:stateMachine:a",
            #"arn:aws:states:us-east-1:1:stateMachine:a\u0041"#, "arn:aws:states:us-east-1:1:stateMachine:aA",
            "arn:aws:states:us-east-1:1:stateMachine:aA", "arn:aws:states:us-east-1:1:stateMachine:b",
            #"arn:aws:states:us-east-1:1:stateMachine:\/a"#, "arn:aws:states:us-east-1:1:stateMachine:/a",
            "arn:aws:states:us-east-1:1:stateMachine:é", "arn:aws:states:us-east-1:1:stateMachine:é", "", "",
            "arn:aws:states:us-east-1:1:stateMachine:b",
        ]
        let items = arns.enumerated().map { index, arn in
            #"{"executionArn":"e\#(index)","stateMachineArn":"\#(arn)","status":"RUNNING","startDate":1}"#
        }
        let bytes = Array(#"{"executions":[\#(items.joined(separator: ","))]}"#.utf8)
        let (read, decoded, error) = both(SFN.ListExecutionsOutput.self, bytes)
        #expect(error == nil)
        #expect(read != nil && read == decoded)
        let machines = try #require(read).executions.map(\.stateMachineArn)
        #expect(machines[2] == "arn:aws:states:us-east-1:1:stateMachine:aA" && machines[6] == machines[7])
        // Shared storage for plain repeats; a new string after any other text.
        func storage(_ text: String) -> UnsafeRawPointer? {
            var text = text
            return text.withUTF8 { UnsafeRawPointer($0.baseAddress) }
        }
        #expect(storage(machines[0]) == storage(machines[1]))
        // An escaped spelling is decoded, then kept: the plain spellings after it share its string.
        #expect(storage(machines[2]) == storage(machines[3]) && storage(machines[3]) == storage(machines[4]))
        #expect(storage(machines[5]) != storage(machines[4]))
        #expect(storage(machines[12]) != storage(machines[5]))  // the cache holds the last one only

        let reasons = [
            #"{"Code":"ALL_STEPS_COMPLETED","Message":"Steps completed, cluster ready for more"}"#,
            #"{"Code":"ALL_STEPS_COMPLETED","Message":"Steps completed, cluster ready for more"}"#,
            #"{"Code":null,"Message":"Steps completed, cluster ready for more"}"#, "{}",
            #"{"Code":"USER_REQUEST","Message":"Terminated by user request \"x\""}"#,
        ]
        let clusters = reasons.enumerated().map { index, reason in
            #"{"Id":"j-\#(index)","Status":{"State":"WAITING","StateChangeReason":\#(reason)}}"#
        }
        let clusterBytes = Array(#"{"Clusters":[\#(clusters.joined(separator: ","))]}"#.utf8)
        let (readClusters, decodedClusters, clusterError) = both(EMR.ListClustersOutput.self, clusterBytes)
        #expect(clusterError == nil)
        #expect(readClusters != nil && readClusters == decodedClusters)
        let messages = try #require(readClusters).clusters.map { $0.status.stateChangeReason?.message }
        #expect(storage(messages[0]!) == storage(messages[1]!) && storage(messages[1]!) == storage(messages[2]!))
        #expect(messages[3] == nil && messages[4] == #"Terminated by user request "x""#)
    }

    /// Random documents of the list shapes (valid JSON; fields missing, null, of the wrong type, unknown fields,
    /// escapes, whitespace), then random damage to each. On every valid document the reader and `JSONDecoder` agree
    /// (both refuse the shape, or both read equal values); on damaged ones, whatever the reader takes, `JSONDecoder`
    /// takes with the same values (the reader is never more lenient).
    @Test("differential against JSONDecoder: 3000 random documents and 3000 damaged ones")
    func differential() throws {
        var random = SplitMix(seed: 0xC057_6A4D)
        var disagreements: [String] = []
        var readBoth = 0
        var refusedDamage = 0
        for round in 0..<3000 {
            let isExecutions = round % 2 == 0
            let document = isExecutions ? Self.executionsDocument(&random) : Self.clustersDocument(&random)
            var damaged = Array(document.utf8)
            switch random.next(upTo: 4) {
            case 0: damaged = Array(damaged.prefix(random.next(upTo: damaged.count)))
            case 1: damaged[random.next(upTo: damaged.count)] = UInt8(random.next(upTo: 256))
            case 2:
                let noise = Array(#"{}[],:"\ 0-e.n"#.utf8)
                damaged.insert(noise[random.next(upTo: noise.count)], at: random.next(upTo: damaged.count))
            default: damaged.remove(at: random.next(upTo: damaged.count))
            }
            for (bytes, valid) in [(Array(document.utf8), true), (damaged, false)] {
                let readOK: Bool
                let decodedOK: Bool
                let equal: Bool
                if isExecutions {
                    let (read, decoded, _) = both(SFN.ListExecutionsOutput.self, bytes)
                    (readOK, decodedOK, equal) = (read != nil, decoded != nil, read == decoded)
                } else {
                    let (read, decoded, _) = both(EMR.ListClustersOutput.self, bytes)
                    (readOK, decodedOK, equal) = (read != nil, decoded != nil, read == decoded)
                }
                if readOK && decodedOK { readBoth += 1 }
                if !valid && !readOK && decodedOK { refusedDamage += 1 }
                let agree = valid ? (readOK == decodedOK && equal) : (!readOK || equal)
                if !agree { disagreements.append(String(decoding: bytes, as: UTF8.self)) }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements; first: \(disagreements.first ?? "")")
        #expect(readBoth > 500, "documents read by both: \(readBoth)")
        print(
            "JSON reader differential: \(readBoth) documents read alike, \(refusedDamage) damaged ones refused only by the reader"
        )
    }

    static let texts = [
        "a", "", "caf\\u00e9", "line\\nbreak", "\\ud83d\\ude00", "q\\\"uote", "slash\\/", "\\\\", "日本", "tab\\t",
    ]

    static func text(_ random: inout SplitMix) -> String {
        "\"" + (0..<random.next(upTo: 3)).map { _ in texts[random.next(upTo: texts.count)] }.joined() + "\""
    }

    static func number(_ random: inout SplitMix) -> String {
        ["0", "1", "-1", "1764000000", "1764000000.125", "1.764e9", "2.0", "17E2", "-0", "0.5"][random.next(upTo: 10)]
    }

    static func unknown(_ random: inout SplitMix, depth: Int = 0) -> String {
        switch random.next(upTo: depth > 2 ? 4 : 6) {
        case 0: return text(&random)
        case 1: return number(&random)
        case 2: return ["true", "false"][random.next(upTo: 2)]
        case 3: return "null"
        case 4:
            return "["
                + (0..<random.next(upTo: 3)).map { _ in unknown(&random, depth: depth + 1) }.joined(separator: ",")
                + "]"
        default:
            return "{"
                + (0..<random.next(upTo: 3)).map { i in "\"k\(i)\": " + unknown(&random, depth: depth + 1) }.joined(
                    separator: ","
                ) + "}"
        }
    }

    /// A field's value: usually the right type, sometimes null, sometimes another type.
    static func value(_ random: inout SplitMix, _ right: (inout SplitMix) -> String) -> String {
        switch random.next(upTo: 12) {
        case 0: return "null"
        case 1: return unknown(&random)
        default: return right(&random)
        }
    }

    static func object(_ random: inout SplitMix, _ fields: [(String, (inout SplitMix) -> String)]) -> String {
        var members: [String] = []
        for (key, make) in fields where random.next(upTo: 10) != 0 {
            members.append("\"\(key)\":\(value(&random, make))")
        }
        if random.next(upTo: 3) == 0 { members.append("\"Unknown\(random.next(upTo: 9))\":\(unknown(&random))") }
        var shuffled = members
        for i in shuffled.indices.reversed() where i > 0 { shuffled.swapAt(i, random.next(upTo: i + 1)) }
        let spaces = [" ", "", "\n", "\t", "\r\n "]
        return "{" + shuffled.joined(separator: "," + spaces[random.next(upTo: spaces.count)]) + "}"
    }

    static func executionsDocument(_ random: inout SplitMix) -> String {
        let item: (inout SplitMix) -> String = { random in
            object(
                &random,
                [
                    ("executionArn", text), ("stateMachineArn", text), ("name", text), ("status", text),
                    (
                        "startDate",
                        { random in random.next(upTo: 5) == 0 ? "\"2026-11-25T01:02:03.456Z\"" : number(&random) }
                    ),
                    ("stopDate", number), ("mapRunArn", text), ("redriveCount", number), ("redriveDate", number),
                ]
            )
        }
        return object(
            &random,
            [
                (
                    "executions",
                    { random in "[" + (0..<random.next(upTo: 4)).map { _ in item(&random) }.joined(separator: ",") + "]"
                    }
                ),
                ("nextToken", text),
            ]
        )
    }

    static func clustersDocument(_ random: inout SplitMix) -> String {
        let timeline: (inout SplitMix) -> String = { random in
            object(&random, [("CreationDateTime", number), ("ReadyDateTime", number), ("EndDateTime", number)])
        }
        let status: (inout SplitMix) -> String = { random in
            object(
                &random,
                [
                    ("State", text),
                    ("StateChangeReason", { random in object(&random, [("Code", text), ("Message", text)]) }),
                    ("Timeline", timeline),
                ]
            )
        }
        let item: (inout SplitMix) -> String = { random in
            object(
                &random,
                [
                    ("Id", text), ("Name", text), ("Status", status), ("NormalizedInstanceHours", number),
                    ("ClusterArn", text),
                ]
            )
        }
        return object(
            &random,
            [
                (
                    "Clusters",
                    { random in "[" + (0..<random.next(upTo: 4)).map { _ in item(&random) }.joined(separator: ",") + "]"
                    }
                ),
                ("Marker", text),
            ]
        )
    }
}
