import AWSSigV4
import CostGuardCore
import Foundation
import Testing

/// Every case of AWS's SigV4 test suite (aws-c-auth layout), header signing.
@Suite("SigV4 test suite")
struct SigV4TestSuiteTests {
    static let suiteDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("sigv4-test-suite/v4").path

    static let cases: [String] = {
        (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory))?.sorted() ?? []
    }()

    @Test("the suite is present: 38 cases")
    func suiteIsPresent() {
        #expect(Self.cases.count == 38)
    }

    @Test("canonical request, string to sign, signature and signed request match", arguments: cases)
    func signCase(_ name: String) throws {
        let directory = Self.suiteDirectory + "/" + name
        let context =
            try JSONSerialization.jsonObject(
                with: try Data(contentsOf: URL(fileURLWithPath: directory + "/context.json"))
            ) as! [String: Any]
        let credentials = context["credentials"] as! [String: Any]
        let request = try ParsedRequest(text: try String(contentsOfFile: directory + "/request.txt", encoding: .utf8))

        var options = SigV4Signer.Options()
        options.normalizePath = context["normalize"] as? Bool ?? true
        options.signPayloadHeader = context["sign_body"] as? Bool ?? false
        options.omitSessionTokenFromSignature = context["omit_session_token"] as? Bool ?? false
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: credentials["access_key_id"] as! String,
                secretAccessKey: credentials["secret_access_key"] as! String,
                sessionToken: credentials["token"] as? String
            ),
            region: context["region"] as! String,
            service: context["service"] as! String,
            options: options
        )
        let date = try #require(Timestamp(iso8601: context["timestamp"] as! String))
        let signature = signer.sign(
            SigV4Request(
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                payloadHash: SigV4Signer.payloadHash(Array(request.body.utf8))
            ),
            at: date
        )

        func expected(_ file: String) throws -> String {
            try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
        }
        #expect(signature.canonicalRequest == (try expected("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try expected("header-string-to-sign.txt")))
        #expect(
            signature.signature
                == (try expected("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines)
        )
        let authorization = try expected("header-signed-request.txt").split(separator: "\n")
            .first { $0.hasPrefix("Authorization:") }.map { String($0.dropFirst("Authorization:".count)) }
        #expect(signature.headers.first { $0.name == "Authorization" }?.value == authorization)
        let token = signature.headers.first { $0.name == "X-Amz-Security-Token" }?.value
        #expect(token == credentials["token"] as? String)
    }
}

/// A request as written in the suite's `request.txt`: request line, headers (with folded continuation lines),
/// a blank line, the body.
struct ParsedRequest {
    var method: String
    var path: String
    var query: [(name: String, value: String)]
    var headers: [(name: String, value: String)]
    var body: String

    init(text: String) throws {
        let lines = text.components(separatedBy: "\n")
        let requestLine = lines[0].components(separatedBy: " ")
        method = requestLine[0]
        // The target sits between the method and the protocol and may itself contain spaces.
        let target = requestLine.dropFirst().dropLast().joined(separator: " ")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        query =
            parts.count > 1
            ? parts[1].split(separator: "&").map { pair in
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                return (name, value)
            }
            : []
        headers = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.name, last.value + "\n" + line))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        body = index + 1 < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""
    }
}

/// The signing-key cache a client keeps between calls changes no signature.
@Suite("SigV4 signing-key cache")
struct SigV4KeyCacheTests {
    func signer(secret: String, region: String = "us-east-1", service: String = "states") -> SigV4Signer {
        SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret),
            region: region,
            service: service
        )
    }

    func request() -> SigV4Request {
        SigV4Request(
            method: "POST",
            path: "/",
            headers: [("Host", "states.us-east-1.amazonaws.com"), ("X-Amz-Target", "AWSStepFunctions.ListExecutions")],
            payloadHash: SigV4Signer.payloadHash(Array("{}".utf8))
        )
    }

    @Test("one cache through changing secrets, days, regions and services signs as without it")
    func sameSignatures() throws {
        let cache = SigV4KeyCache()
        let day1 = try #require(Timestamp(iso8601: "2026-11-25T23:59:59.000Z"))
        let day2 = try #require(Timestamp(iso8601: "2026-11-26T00:00:00.000Z"))
        // Each step changes one input the key is derived from (and repeats, so that cached keys are used too).
        let steps: [(SigV4Signer, Timestamp)] = [
            (signer(secret: "secret-1"), day1), (signer(secret: "secret-1"), day1),
            (signer(secret: "secret-2"), day1), (signer(secret: "secret-2"), day1),
            (signer(secret: "secret-2"), day2), (signer(secret: "secret-2"), day2),
            (signer(secret: "secret-2", region: "eu-west-1"), day2),
            (signer(secret: "secret-2", region: "eu-west-1", service: "elasticmapreduce"), day2),
            (signer(secret: "secret-1"), day1),
            // Canonically equivalent but different bytes: a different secret, so a different key.
            (signer(secret: "caf\u{E9}"), day1), (signer(secret: "cafe\u{301}"), day1),
        ]
        var signatures: [String] = []
        for (signer, date) in steps {
            let cached = signer.sign(request(), at: date, keys: cache)
            let fresh = signer.sign(request(), at: date)
            #expect(cached.signature == fresh.signature)
            #expect(cached.headers.map(\.value) == fresh.headers.map(\.value))
            signatures.append(cached.signature)
        }
        // The steps really differ where their inputs do.
        #expect(signatures[0] == signatures[1] && signatures[0] != signatures[2] && signatures[2] != signatures[4])
        #expect(signatures[9] != signatures[10])
    }
}
