import AWSSigV4
import CostGuardCore
import Foundation
import Testing

/// Signs a few hundred generated requests with our signer and with botocore (installed in `.venv-test` by
/// `Deploy/dev-setup.sh`), and requires identical Authorization headers.
@Suite("SigV4 against botocore")
struct BotocoreDifferentialTests {
    static let seed = 20_261_124
    static let count = 400

    struct Case: Decodable {
        var method: String
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var bodyHex: String
        var accessKeyID: String
        var secretAccessKey: String
        var sessionToken: String?
        var service: String
        var region: String
        var timestamp: String
        var authorization: String
    }

    @Test("400 generated requests: our Authorization header equals botocore's")
    func differential() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv-test/bin/python").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "run Deploy/dev-setup.sh first: it installs botocore in .venv-test"
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            root.appendingPathComponent("Tests/AWSSigV4Tests/botocore_sign.py").path, "\(Self.seed)", "\(Self.count)",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let cases = try JSONDecoder().decode([Case].self, from: data)
        #expect(cases.count == Self.count)
        var mismatches = 0
        for (index, c) in cases.enumerated() {
            let signer = SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: c.accessKeyID,
                    secretAccessKey: c.secretAccessKey,
                    sessionToken: c.sessionToken
                ),
                region: c.region,
                service: c.service
            )
            let body = stride(from: 0, to: c.bodyHex.count, by: 2).map { offset -> UInt8 in
                let start = c.bodyHex.index(c.bodyHex.startIndex, offsetBy: offset)
                return UInt8(c.bodyHex[start...c.bodyHex.index(after: start)], radix: 16)!
            }
            let signature = signer.sign(
                SigV4Request(
                    method: c.method,
                    path: c.path,
                    query: c.query.map { ($0[0], $0[1]) },
                    headers: c.headers.map { ($0[0], $0[1]) },
                    payloadHash: SigV4Signer.payloadHash(body)
                ),
                at: try #require(Timestamp(iso8601: c.timestamp))
            )
            let ours = signature.headers.first { $0.name == "Authorization" }?.value
            if ours != c.authorization {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record(
                        "case \(index): ours \(ours ?? "nil")\nbotocore \(c.authorization)\n\(signature.canonicalRequest)"
                    )
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) differ (seed \(Self.seed))")
    }
}
