import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

@testable import AWSClients

/// The request shapes written without `JSONEncoder` must write what their `Encodable` conformance encodes.
@Suite("JSON writer of request shapes")
struct JSONWriterTests {
    /// Both bodies as parsed JSON objects: (written, encoded).
    func both<T: JSONWritable & Encodable>(_ input: T) throws -> (NSDictionary, NSDictionary) {
        let written = try JSONSerialization.jsonObject(with: Data(input.jsonBody())) as! NSDictionary
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(input)) as! NSDictionary
        return (written, encoded)
    }

    /// Strings a request may carry: plain ids, and every character JSON must escape.
    static let strings = [
        "arn:aws:states:us-east-1:123456789012:stateMachine:m", "", "q\"uote", "back\\slash", "new\nline\r\t",
        "\u{01}\u{1F}ctl", "caf\u{E9} \u{1F600}", "/slash", "AAAA+token/with==", "\u{7F}del",
    ]

    @Test("ListExecutions inputs: 500 random ones write what JSONEncoder encodes")
    func listExecutions() throws {
        var random = SplitMix(seed: 9)
        for _ in 0..<500 {
            func maybe() -> String? {
                random.next() % 3 == 0 ? nil : Self.strings[Int(random.next() % UInt64(Self.strings.count))]
            }
            let input = SFNClient.ListExecutionsInput(
                stateMachineArn: maybe(),
                mapRunArn: maybe(),
                statusFilter: maybe(),
                maxResults: Int(random.next() % 1001) - (random.next() % 5 == 0 ? 2000 : 0),
                nextToken: maybe(),
                redriveFilter: maybe()
            )
            let (written, encoded) = try both(input)
            #expect(written == encoded, "\(String(decoding: input.jsonBody(), as: UTF8.self))")
        }
    }

    @Test("ListClusters inputs: 500 random ones write what JSONEncoder encodes, times included")
    func listClusters() throws {
        var random = SplitMix(seed: 10)
        for _ in 0..<500 {
            func time() -> Timestamp? {
                guard random.next() % 3 != 0 else { return nil }
                // Whole seconds, milliseconds, and the ends of the plausible range.
                let ms = Int64(random.next() % 4_102_444_800_000)
                return Timestamp(millisecondsSinceEpoch: random.next() % 2 == 0 ? ms - ms % 1000 : ms)
            }
            let states =
                random.next() % 4 == 0
                ? nil
                : (0..<Int(random.next() % 5)).map { _ in Self.strings[Int(random.next() % UInt64(Self.strings.count))]
                }
            let input = EMRClient.ListClustersInput(
                states: states,
                createdAfter: time(),
                createdBefore: time(),
                marker: random.next() % 2 == 0 ? nil : Self.strings[Int(random.next() % UInt64(Self.strings.count))]
            )
            let (written, encoded) = try both(input)
            #expect(written == encoded, "\(String(decoding: input.jsonBody(), as: UTF8.self))")
        }
    }

    @Test("absent members are left out, and the body is exactly what the SDKs send for a typical call")
    func typical() {
        let input = SFNClient.ListExecutionsInput(
            stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            mapRunArn: nil,
            statusFilter: "RUNNING",
            maxResults: 1000,
            nextToken: nil
        )
        #expect(
            String(decoding: input.jsonBody(), as: UTF8.self)
                == #"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:m","statusFilter":"RUNNING","maxResults":1000}"#
        )
        let empty = EMRClient.ListClustersInput(states: nil, createdAfter: nil, createdBefore: nil, marker: nil)
        #expect(String(decoding: empty.jsonBody(), as: UTF8.self) == "{}")
    }
}
