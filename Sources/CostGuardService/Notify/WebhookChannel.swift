public import AWSClients
import CostGuardCore

/// How one delivery went.
public enum DeliveryResult: Sendable, Equatable {
    case delivered
    /// Try again: after `after` when the receiver said (429 `Retry-After`), else after the sender's backoff.
    case retry(after: Duration?, reason: String)
    /// Never again (a 4xx other than 429: the hook was removed, the channel archived, the payload refused).
    case failed(reason: String)
}

/// A Slack-compatible incoming webhook: POST `{"text", "blocks"}`, 2xx delivered, 429 after `Retry-After`, 5xx and
/// no answer again later, any other 4xx never again.
///
/// The URL is a secret (whoever has it can post): it is read from a file or the environment, and never put in a
/// log line, an error or the ledger; errors name the webhook, not its address.
public struct WebhookChannel: Sendable {
    let url: String
    let transport: any HTTPTransport
    let timeout: Duration

    /// - Throws: `SetupProblem` when `url` is not an absolute http(s) URL (the message does not repeat it).
    public init(url: String, transport: any HTTPTransport, timeout: Duration = .seconds(10)) throws(SetupProblem) {
        let trimmed = url.trimmingWhitespaceAndNewlines
        guard trimmed.hasPrefix("https://") || trimmed.hasPrefix("http://"), trimmed.count > 8,
            !trimmed.contains(" ")
        else {
            throw SetupProblem(message: "the webhook URL is not an http:// or https:// URL")
        }
        self.url = trimmed
        self.transport = transport
        self.timeout = timeout
    }

    /// A problem with the channel's settings (never showing the URL).
    public struct SetupProblem: Error, Sendable, Equatable {
        public var message: String
    }

    public func send(_ text: String) async -> DeliveryResult {
        let body = Self.payload(text)
        let request = HTTPRequest(
            method: "POST",
            url: url,
            headers: [("Content-Type", "application/json"), ("User-Agent", "costguard/\(CostGuardVersion.current)")],
            body: Array(body.utf8)
        )
        do {
            let response = try await transport.send(request, timeout: timeout)
            switch response.status {
            case 200..<300:
                return .delivered
            case 429:
                let wait = response.header("Retry-After").flatMap { Int($0.trimmingWhitespaceAndNewlines) }
                return .retry(after: wait.map { .seconds(max(1, $0)) }, reason: "HTTP 429 (rate limited)")
            case 500..<600:
                return .retry(after: nil, reason: "HTTP \(response.status)\(Self.answer(response))")
            default:
                return .failed(reason: "HTTP \(response.status)\(Self.answer(response))")
            }
        } catch let error as TransportError {
            return .retry(after: nil, reason: redacted(error.description))
        } catch {
            return .retry(after: nil, reason: redacted("\(error)"))
        }
    }

    /// Slack's JSON: the text, and the same as one section block.
    static func payload(_ text: String) -> String {
        let quoted = JSONText.quoted(text)
        return #"{"text":\#(quoted),"blocks":[{"type":"section","text":{"type":"mrkdwn","text":\#(quoted)}}]}"#
    }

    /// The start of the receiver's answer (Slack says why: `channel_is_archived`, `invalid_payload`).
    static func answer(_ response: HTTPResponse) -> String {
        let text = String(decoding: response.body.prefix(80), as: UTF8.self).trimmingWhitespaceAndNewlines
        return text.isEmpty ? "" : " (\(text))"
    }

    /// `text` with the URL and its path replaced, so that an error never carries the secret.
    func redacted(_ text: String) -> String {
        var out = text.replacing(url, with: "<webhook>")
        if let path = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(3).first,
            path.count > 1
        {
            out = out.replacing(String(path), with: "<webhook path>")
        }
        return out
    }
}
