/// The configuration file (`/etc/costguard/costguard.toml`): a TOML subset — `[tables]`, `key = value` with
/// strings, integers, booleans and arrays of strings, `#` comments. Every key is known; an unknown key or a bad
/// value is an error naming the file, the line and the key.
public struct ConfigFile: Sendable, Equatable {
    public var database: String?
    public var regions: [String] = []
    public var profile: String?
    public var dryRun: Bool?
    /// The longest time between two whole-file checks of the ledger (`quick_check_every`; default 24 h).
    public var quickCheckEvery: Duration?
    public var policy = PolicyConfiguration()
    /// `[serve]` settings.
    public var interval: Duration?
    public var metricsAddress: String?
    /// `[prices]` overrides of the shipped price table, and `[report]` settings.
    public var prices = PriceTable()
    public var noticeHours: Double?
    /// `[rate_limits]`.
    public var rateLimits = RateLimitConfiguration()
    /// `[notify] webhook_url_file`: a file holding the Slack-compatible webhook URL (a secret: not in this file).
    public var webhookURLFile: String?
    /// `[notify] sns_topic_arn`: an SNS topic to publish notices to.
    public var snsTopicARN: String?

    public init() {}

    /// A problem in the file.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var message: String
        public var description: String { "\(path) line \(line): \(message)" }
    }

    /// Parses `text` (read from `path`, named in errors).
    public static func parse(_ text: String, path: String) throws(Problem) -> ConfigFile {
        var config = ConfigFile()
        var table = ""
        var actionsSeen: [ExecutionStatus: OrphanAction] = [:]
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            let content = stripComment(String(raw)).trimmingWhitespace
            if content.isEmpty { continue }
            func fail(_ message: String) -> Problem { Problem(path: path, line: line, message: message) }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]") else { throw fail("a table header must end with ']'") }
                table = String(content.dropFirst().dropLast()).trimmingWhitespace
                guard ["policy", "serve", "prices", "report", "rate_limits", "notify"].contains(table) else {
                    throw fail(
                        "unknown table [\(table)]; the tables are [policy], [serve], [prices], [report], [rate_limits] "
                            + "and [notify]"
                    )
                }
                continue
            }
            guard let equals = content.firstIndex(of: "=") else { throw fail("expected 'key = value'") }
            var key = String(content[..<equals]).trimmingWhitespace
            if key.hasPrefix("\""), key.hasSuffix("\""), key.count >= 2 { key = String(key.dropFirst().dropLast()) }
            let valueText = String(content[content.index(after: equals)...]).trimmingWhitespace
            let value = try parseValue(valueText, line: line, path: path, key: key)
            let qualified = table.isEmpty ? key : "\(table).\(key)"
            func string() throws(Problem) -> String {
                guard case .string(let s) = value else { throw fail("\(qualified) must be a string in double quotes") }
                return s
            }
            func bool() throws(Problem) -> Bool {
                guard case .bool(let b) = value else { throw fail("\(qualified) must be true or false") }
                return b
            }
            func strings() throws(Problem) -> [String] {
                guard case .array(let a) = value else {
                    throw fail("\(qualified) must be an array of strings, like [\"a\", \"b\"]")
                }
                return a
            }
            func duration() throws(Problem) -> Duration {
                let text = try string()
                guard let parsed = DurationText.parse(text) else {
                    throw fail(
                        "\(qualified) = \"\(text)\" is not a duration; write it like \"90s\", \"15m\", \"1h30m\""
                    )
                }
                return parsed
            }
            switch qualified {
            case "database": config.database = try string()
            case "regions": config.regions = try strings()
            case "profile": config.profile = try string()
            case "dry_run": config.dryRun = try bool()
            case "quick_check_every": config.quickCheckEvery = try duration()
            case "policy.grace": config.policy.grace = try duration()
            case "policy.redrive_grace": config.policy.redriveGrace = try duration()
            case "policy.self_termination_wait": config.policy.selfTerminationWait = try duration()
            case "policy.unprotect": config.policy.unprotect = try bool()
            case "policy.max_terminations_per_pass":
                guard case .integer(let n) = value, n >= 0 else {
                    throw fail("\(qualified) must be a whole number ≥ 0")
                }
                config.policy.maxTerminationsPerPass = n
            case "policy.on_aborted", "policy.on_failed", "policy.on_timed_out", "policy.on_succeeded":
                let text = try string()
                guard let action = OrphanAction(rawValue: text) else {
                    throw fail("\(qualified) = \"\(text)\" must be \"terminate\" or \"report\"")
                }
                let status: ExecutionStatus =
                    switch key {
                    case "on_aborted": .aborted
                    case "on_failed": .failed
                    case "on_timed_out": .timedOut
                    default: .succeeded
                    }
                actionsSeen[status] = action
            case "policy.exempt_tags":
                config.policy.exemptTags = try strings().map { item throws(Problem) in
                    // "key" or "key=value"; an empty key would match nothing (found by fuzzing: it crashed).
                    let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard let key = parts.first, !key.isEmpty else {
                        throw fail(
                            "policy.exempt_tags has an entry \"\(item)\" without a tag key; write \"key\" or \"key=value\""
                        )
                    }
                    return PolicyConfiguration.ExemptTag(
                        key: String(key),
                        value: parts.count > 1 ? String(parts[1]) : nil
                    )
                }
                if !config.policy.exemptTags.contains(where: { $0.key == "costguard:exempt" }) {
                    config.policy.exemptTags.append(.init(key: "costguard:exempt", value: "true"))
                }
            case "policy.exempt_state_machines": config.policy.exemptStateMachines = try strings()
            case "prices.spot_fraction", "prices.normalized_hour_usd", "report.notice_hours":
                let text = try string()
                guard let number = Double(text), number >= 0 else {
                    throw fail("\(qualified) = \"\(text)\" must be a number ≥ 0 in quotes")
                }
                if key == "spot_fraction" {
                    config.prices.spotFraction = number
                } else if key == "normalized_hour_usd" {
                    config.prices.normalizedHourRate = number
                } else {
                    config.noticeHours = number
                }
            case _ where table == "prices":
                // "m5.xlarge" = "0.192/0.048" (EC2/EMR USD per hour), or "eu-west-1:m5.xlarge" for one region.
                let text = try string()
                let parts = text.split(separator: "/")
                guard parts.count == 2, let ec2 = Double(parts[0]), let emr = Double(parts[1]), ec2 >= 0, emr >= 0
                else {
                    throw fail("prices.\(key) = \"\(text)\" must be \"EC2/EMR\" USD per hour, like \"0.192/0.048\"")
                }
                let price = PriceTable.Price(ec2: ec2, emr: emr)
                if let colon = key.firstIndex(of: ":") {
                    config.prices.regional[String(key[..<colon]), default: [:]][
                        String(key[key.index(after: colon)...])
                    ] = price
                } else {
                    config.prices.prices[key] = price
                }
            case "rate_limits.enabled": config.rateLimits.enabled = try bool()
            case "rate_limits.share":
                let text = try string()
                guard let share = Double(text), share > 0, share <= 1 else {
                    throw fail(
                        "rate_limits.share = \"\(text)\" must be a number in quotes above 0 and at most 1, like \"0.5\""
                    )
                }
                config.rateLimits.share = share
            case "rate_limits.max_pause": config.rateLimits.maxPause = try duration()
            case _ where table == "rate_limits":
                // "states:ListExecutions" = "200/5": the account's bucket (burst/refill per second).
                let text = try string()
                let parts = key.split(separator: ":")
                guard parts.count == 2, ["states", "elasticmapreduce", "sts"].contains(parts[0]), !parts[1].isEmpty
                else {
                    throw fail(
                        "unknown key 'rate_limits.\(key)'; quotas are keyed \"service:Operation\" (states, elasticmapreduce or sts), like \"states:ListExecutions\""
                    )
                }
                guard let quota = RateQuota(text) else {
                    throw fail("rate_limits.\"\(key)\" = \"\(text)\" must be \"burst/per-second\", like \"200/5\"")
                }
                config.rateLimits.quotas[key] = quota
            case "serve.interval": config.interval = try duration()
            case "serve.metrics_address": config.metricsAddress = try string()
            case "notify.webhook_url_file": config.webhookURLFile = try string()
            case "notify.sns_topic_arn": config.snsTopicARN = try string()
            case "notify.webhook_url":
                throw fail(
                    "notify.webhook_url: the webhook URL is a secret and does not belong in the config file; put it "
                        + "in a file readable only by CostGuard and name that file with notify.webhook_url_file, or "
                        + "set COSTGUARD_WEBHOOK_URL"
                )
            default:
                throw fail("unknown key '\(qualified)'; see Deploy/costguard.toml for every key")
            }
        }
        for (status, action) in actionsSeen { config.policy.actions[status] = action }
        return config
    }

    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case bool(Bool)
        case array([String])
    }

    static func parseValue(_ text: String, line: Int, path: String, key: String) throws(Problem) -> Value {
        func fail(_ message: String) -> Problem { Problem(path: path, line: line, message: message) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let n = Int(text.replacingUnderscores) { return .integer(n) }
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\""), let s = unquote(text) else {
                throw fail("the string value of \(key) is not closed with \"")
            }
            return .string(s)
        }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]") else {
                throw fail("the array value of \(key) must end with ']' on the same line")
            }
            let inner = text.dropFirst().dropLast().trimmingWhitespace
            if inner.isEmpty { return .array([]) }
            var items: [String] = []
            for part in splitArray(String(inner)) {
                let item = part.trimmingWhitespace
                if item.isEmpty { continue }
                guard item.hasPrefix("\""), item.hasSuffix("\""), item.count >= 2, let s = unquote(item) else {
                    throw fail("\(key) must be an array of strings in double quotes")
                }
                items.append(s)
            }
            return .array(items)
        }
        throw fail("the value of \(key) is not a string, number, boolean or array: \(text)")
    }

    static func unquote(_ text: String) -> String? {
        var out = ""
        var escaping = false
        for char in text.dropFirst().dropLast() {
            if escaping {
                switch char {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\": out.append(char)
                default: return nil
                }
                escaping = false
            } else if char == "\\" {
                escaping = true
            } else if char == "\"" {
                return nil
            } else {
                out.append(char)
            }
        }
        return escaping ? nil : out
    }

    /// Splits on commas outside quotes.
    static func splitArray(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var previous: Character = " "
        for char in text {
            if char == "\"" && previous != "\\" { quoted.toggle() }
            if char == "," && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(char)
            }
            previous = char
        }
        parts.append(current)
        return parts
    }

    /// Removes a `#` comment that is not inside a string.
    static func stripComment(_ line: String) -> String {
        var quoted = false
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let char = line[index]
            if char == "\"" && previous != "\\" { quoted.toggle() }
            if char == "#" && !quoted { return String(line[..<index]) }
            previous = char
            index = line.index(after: index)
        }
        return line
    }
}

/// Durations written like `90s`, `15m`, `1h30m`, `2d`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number = ""
        var sawUnit = false
        for char in text.trimmingWhitespace {
            if char.isNumber {
                number.append(char)
                continue
            }
            guard let value = Int64(number) else { return nil }
            let unit: Int64
            switch char {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            // Overflow is a bad value, not a crash (found by fuzzing); nothing sensible exceeds ten years.
            let (part, overflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, overflowSum) = total.addingReportingOverflow(part)
            guard !overflow, !overflowSum, sum <= 10 * 366 * 86400 else { return nil }
            total = sum
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return .seconds(total)
    }

    /// `1h30m`, `15m`, `45s`.
    public static func format(_ duration: Duration) -> String {
        var seconds = duration.components.seconds
        if seconds == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= size {
            out += "\(seconds / size)\(unit)"
            seconds %= size
        }
        return out
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" || first == "\r" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return String(s)
    }

    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
