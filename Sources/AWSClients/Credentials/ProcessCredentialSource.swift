import AWSSigV4
public import CostGuardCore

/// `credential_process`: runs the command (split like a POSIX shell would, without running a shell) and reads the
/// JSON it prints (`Version: 1`, `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`).
public struct ProcessCredentialSource: CredentialSource {
    public let command: String
    public let profile: String

    public init(command: String, profile: String) {
        self.command = command
        self.profile = profile
    }

    public var name: String { "profile \(profile) credential_process" }

    public func load(now: Timestamp) async throws(AWSError) -> CredentialLoad {
        let words = Self.split(command)
        guard let program = words.first else {
            throw AWSError.credentials(name, "credential_process is empty")
        }
        let finished: ChildProcess.Finished
        do {
            finished = try await ChildProcess.run(words)
        } catch {
            throw AWSError.credentials(name, "cannot run '\(program)': \(error)")
        }
        guard finished.succeeded else {
            let detail = String(decoding: finished.errors.prefix(300), as: UTF8.self).trimmingWhitespaceAndNewlines
            throw AWSError.credentials(
                name,
                "'\(program)' \(finished.statusText)\(detail.isEmpty ? "" : ": \(detail)")"
            )
        }
        let output = finished.output
        let document = try CredentialDocument.decode(Array(output), source: name)
        guard document.Version == 1 else {
            throw AWSError.credentials(
                name,
                "the output must have \"Version\": 1 (got \(document.Version.map(String.init) ?? "none"))"
            )
        }
        return .loaded(try document.credentials(source: name))
    }

    /// Splits a command line into words: whitespace separates, single quotes keep everything, double quotes keep
    /// everything but `\"` and `\\`, and a backslash escapes the next character outside quotes.
    static func split(_ command: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var iterator = command.makeIterator()
        while let char = iterator.next() {
            if let q = quote {
                if char == q {
                    quote = nil
                } else if q == "\"" && char == "\\" {
                    if let next = iterator.next() {
                        if next != "\"" && next != "\\" { current.append("\\") }
                        current.append(next)
                    }
                } else {
                    current.append(char)
                }
            } else if char == "'" || char == "\"" {
                quote = char
                inWord = true
            } else if char == "\\" {
                if let next = iterator.next() { current.append(next) }
                inWord = true
            } else if char == " " || char == "\t" || char == "\n" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else {
                current.append(char)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
