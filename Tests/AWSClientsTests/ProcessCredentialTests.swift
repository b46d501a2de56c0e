import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// `credential_process` with real child processes (shell scripts in a temporary directory).
@Suite("credential_process runs the command and reads what it prints")
struct ProcessCredentialTests {
    static let json =
        #"{"Version": 1, "AccessKeyId": "AKIDPROCESS000000000", "SecretAccessKey": "processSECRET", "SessionToken": "tok", "Expiration": "2031-01-01T00:00:00Z"}"#

    /// Writes an executable `/bin/sh` script and returns its path.
    func script(_ body: String) throws -> String {
        let path = try temporaryHome() + "/creds.sh"
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o700)
        return path
    }

    struct NotLoaded: Error {}

    func load(_ command: String) async throws -> AWSCredentials {
        let load = try await ProcessCredentialSource(command: command, profile: "ops").load(
            now: Timestamp(iso8601: "2026-12-05T00:00:00Z")!
        )
        guard case .loaded(let credentials) = load else { throw NotLoaded() }
        return credentials
    }

    @Test("arguments are passed as split, standard input is empty, and the document is read")
    func reads() async throws {
        // `read` fails at once on /dev/null; a terminal or an inherited pipe would block or feed it.
        let path = try script(
            #"""
            if read line; then echo "stdin was not empty" >&2; exit 9; fi
            [ "$1" = "--flag" ] && [ "$2" = "quoted arg" ] || { echo "arguments: $*" >&2; exit 8; }
            echo '\#(Self.json)'
            """#
        )
        let credentials = try await load("\(path) --flag 'quoted arg'")
        #expect(credentials.accessKeyID == "AKIDPROCESS000000000")
        #expect(credentials.sessionToken == "tok")
        #expect(credentials.expiration == Timestamp(iso8601: "2031-01-01T00:00:00Z"))
    }

    @Test("a child that writes more than a pipe holds to standard error before its answer is still read")
    func chattyChild() async throws {
        // 256 KiB on stderr first: reading only after the child ends would leave it blocked on a full pipe forever.
        let path = try script(
            #"""
            head -c 262144 /dev/zero | tr '\0' 'x' >&2
            echo '\#(Self.json)'
            """#
        )
        #expect(try await load(path).accessKeyID == "AKIDPROCESS000000000")
    }

    @Test("a failing command: its status and the start of its standard error are in the message")
    func failures() async throws {
        let failing = try script("echo 'sso session expired; run aws sso login' >&2\nexit 3")
        let exited = try await #require(throws: AWSError.self) { try await load(failing) }
        #expect(
            exited.message.contains("exited with status 3: sso session expired; run aws sso login"),
            "\(exited.message)"
        )

        let killed = try script("kill -9 $$")
        let signalled = try await #require(throws: AWSError.self) { try await load(killed) }
        #expect(signalled.message.contains("was killed by signal 9"), "\(signalled.message)")

        let missing = try await #require(throws: AWSError.self) { try await load("costguard-no-such-helper --x") }
        #expect(
            missing.message.contains("cannot run 'costguard-no-such-helper': No such file or directory"),
            "\(missing.message)"
        )

        let flood = try script("head -c 2097152 /dev/zero")
        let flooded = try await #require(throws: AWSError.self) { try await load(flood) }
        #expect(flooded.message.contains("more than 1 MiB on standard output"), "\(flooded.message)")

        let wrongVersion = try script(#"echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "B"}'"#)
        let version = try await #require(throws: AWSError.self) { try await load(wrongVersion) }
        #expect(version.message.contains("\"Version\": 1"), "\(version.message)")
    }

    @Test("a program name without a slash is looked up in PATH")
    func pathLookup() async throws {
        // `sh -c` comes from PATH; the words after the script are its $0 and $1.
        let credentials = try await load(#"sh -c 'echo "$1"' sh '\#(Self.json)'"#)
        #expect(credentials.accessKeyID == "AKIDPROCESS000000000")
    }
}
