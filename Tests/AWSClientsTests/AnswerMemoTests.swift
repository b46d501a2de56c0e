import CostGuardCore
import Foundation
import Synchronization
import Testing

@testable import AWSClients

/// List answers the same as the last one to the same request are not read again (`AnswerMemo`); anything else is.
@Suite("Repeated list answers")
struct AnswerMemoTests {
    /// Answers ListExecutions with the body it is given next, and records each request's body.
    final class ScriptedAnswers: HTTPTransport, Sendable {
        let next = Mutex<[[UInt8]]>([])
        let requests = Mutex<[[UInt8]]>([])

        func answer(_ body: String) { next.withLock { $0.append(Array(body.utf8)) } }

        func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
            requests.withLock { $0.append(request.body) }
            let body = next.withLock { $0.isEmpty ? [] : $0.removeFirst() }
            return HTTPResponse(status: 200, headers: [("x-amzn-RequestId", "r")], body: body)
        }
    }

    static func page(_ statuses: [String], token: String? = nil) -> String {
        let items = statuses.enumerated().map { index, status in
            #"{"executionArn":"arn:aws:states:us-east-1:1:execution:sm:e\#(index)","stateMachineArn":"arn:aws:states:us-east-1:1:stateMachine:sm","#
                + #""name":"e\#(index)","status":"\#(status)","startDate":1796460207.4\#(index)}"#
        }
        return #"{"executions":[\#(items.joined(separator: ","))]"# + (token.map { #","nextToken":"\#($0)""# } ?? "")
            + "}"
    }

    func client(_ transport: ScriptedAnswers) async throws -> SFNClient {
        let environment = isolatedEnvironment(
            [
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "secret",
            ],
            home: try temporaryHome()
        )
        return try await Clients(environment: environment, context: testContext(transport: transport)).sfn
    }

    @Test("the same answer to the same request is reused; a changed byte, another request or a bad answer is read")
    func reuse() async throws {
        let transport = ScriptedAnswers()
        let sfn = try await client(transport)
        let machine = SFNClient.ExecutionParent.stateMachine("arn:aws:states:us-east-1:1:stateMachine:sm")
        let other = SFNClient.ExecutionParent.stateMachine("arn:aws:states:us-east-1:1:stateMachine:other")
        let running = Self.page(["RUNNING", "RUNNING"])
        // As long as the first: only the bytes differ.
        let changed = Self.page(["RUNNING", "ABORTED"])

        transport.answer(running)
        let first = try await sfn.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil)
        transport.answer(running)
        let second = try await sfn.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil)
        #expect(second == first)
        #expect(sfn.client.answerCounts == (reused: 1, read: 1))

        // One status changed: the new answer is read, and what it says is what the call returns.
        transport.answer(changed)
        let third = try await sfn.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil)
        #expect(third.executions.map(\.status) == ["RUNNING", "ABORTED"])
        #expect(sfn.client.answerCounts == (reused: 1, read: 2))

        // The same bytes to another request (another state machine) are read for that request.
        transport.answer(changed)
        let elsewhere = try await sfn.listExecutionsPage(other, status: .running, pageSize: 1000, token: nil)
        #expect(elsewhere == third)
        #expect(sfn.client.answerCounts == (reused: 1, read: 3))

        // A malformed answer fails every time, and does not replace the one kept.
        for _ in 0..<2 {
            transport.answer(String(changed.dropLast()))
            await #expect(throws: AWSError.self) {
                try await sfn.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil)
            }
        }
        transport.answer(changed)
        #expect(try await sfn.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil) == third)
        #expect(sfn.client.answerCounts == (reused: 2, read: 3))

        // A reused answer reads as a fresh client reads it.
        let fresh = try await client(transport)
        transport.answer(changed)
        #expect(try await fresh.listExecutionsPage(machine, status: .running, pageSize: 1000, token: nil) == third)
        #expect(transport.requests.withLock { $0.count } == 8)
    }

    @Test("pages of one listing are kept per token, and a last page's answer is not taken for another's")
    func pagesByToken() async throws {
        let transport = ScriptedAnswers()
        let sfn = try await client(transport)
        let machine = SFNClient.ExecutionParent.stateMachine("arn:aws:states:us-east-1:1:stateMachine:sm")
        for _ in 0..<2 {
            transport.answer(Self.page(["RUNNING"], token: "t1"))
            transport.answer(Self.page(["SUCCEEDED"]))
            let pages = try await sfn.listExecutions(machine).collect()
            #expect(pages.map { $0.executions.map(\.status) } == [["RUNNING"], ["SUCCEEDED"]])
        }
        #expect(sfn.client.answerCounts == (reused: 2, read: 2))
    }

    @Test("answers larger than an entry's limit are not kept; past the byte limit the least recently used go first")
    func limits() throws {
        let memo = AnswerMemo(byteLimit: 300, entryLimit: 200)
        func key(_ name: String) -> AnswerMemo.Key {
            AnswerMemo.Key(operation: "ListExecutions", request: Array(name.utf8))
        }
        let value = SFN.ListExecutionsOutput(executions: [], nextToken: nil)
        let answer = [UInt8](repeating: 0x20, count: 100)

        memo.keep(value, for: key("big"), answer: [UInt8](repeating: 0x20, count: 201))
        #expect(memo.kept == (entries: 0, bytes: 0))
        #expect(memo.value(for: key("big"), answer: [UInt8](repeating: 0x20, count: 201)) == nil)

        memo.keep(value, for: key("a"), answer: answer)
        memo.keep(value, for: key("b"), answer: answer)
        memo.keep(value, for: key("c"), answer: answer)
        #expect(memo.kept == (entries: 3, bytes: 300))
        // "a" used last: "b" is now the least recently used, and goes when "d" comes.
        #expect(memo.value(for: key("a"), answer: answer) != nil)
        memo.keep(value, for: key("d"), answer: answer)
        #expect(memo.kept == (entries: 3, bytes: 300))
        #expect(memo.value(for: key("b"), answer: answer) == nil)
        #expect(memo.value(for: key("a"), answer: answer) != nil)
        #expect(memo.value(for: key("c"), answer: answer) != nil)
        #expect(memo.value(for: key("d"), answer: answer) != nil)

        // Keeping a new answer for a key replaces the old one's bytes; an answer too large drops what was kept.
        memo.keep(value, for: key("a"), answer: [UInt8](repeating: 0x20, count: 50))
        #expect(memo.kept == (entries: 3, bytes: 250))
        #expect(memo.value(for: key("a"), answer: answer) == nil)
        memo.keep(value, for: key("c"), answer: [UInt8](repeating: 0x20, count: 250))
        #expect(memo.kept == (entries: 2, bytes: 150))

        // Equal only when every byte is.
        var other = answer
        other[99] = 0x21
        #expect(!AnswerMemo.equal(answer, other))
        #expect(memo.value(for: key("d"), answer: other) == nil)
        #expect(AnswerMemo.equal(answer, answer) && AnswerMemo.equal([], []))
        #expect(!AnswerMemo.equal(answer, Array(answer.dropLast())))
    }
}
