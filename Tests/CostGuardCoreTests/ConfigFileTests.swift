import CostGuardCore
import Foundation
import Testing

@Suite("Configuration file")
struct ConfigFileTests {
    @Test("the shipped example parses and equals the defaults")
    func example() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Deploy/costguard.toml").path
        let config = try ConfigFile.parse(try String(contentsOfFile: path, encoding: .utf8), path: path)
        #expect(config.policy == PolicyConfiguration())
        #expect(config.dryRun == false)
        #expect(config.quickCheckEvery == .seconds(24 * 3600))
        #expect(config.interval == .seconds(300))
        #expect(config.metricsAddress == "127.0.0.1:9464")
        #expect(config.prices == PriceTable())
        #expect(config.noticeHours == 24)
        #expect(config.rateLimits == RateLimitConfiguration())
    }

    @Test("rate limits: share, pause and per-operation quotas")
    func rateLimits() throws {
        let config = try ConfigFile.parse(
            """
            [rate_limits]
            share = "0.25"
            max_pause = "30s"
            "states:ListExecutions" = "400/10"
            "elasticmapreduce:*" = "20/0.5"
            """,
            path: "c.toml"
        )
        #expect(config.rateLimits.share == 0.25)
        #expect(config.rateLimits.maxPause == .seconds(30))
        #expect(config.rateLimits.quotas["states:ListExecutions"] == RateQuota(burst: 400, perSecond: 10))
        #expect(config.rateLimits.quotas["elasticmapreduce:*"] == RateQuota(burst: 20, perSecond: 0.5))
        #expect(config.rateLimits.enabled)
    }

    @Test("values, tables and comments")
    func values() throws {
        let config = try ConfigFile.parse(
            """
            regions = ["us-east-1", "eu-west-1"] # two
            database = "/var/lib/x # not a comment.sqlite"
            [policy]
            grace = "1h30m"
            on_succeeded = "terminate"
            max_terminations_per_pass = 1_000
            exempt_tags = ["team=data", "keep"]
            exempt_state_machines = ["arn:aws:states:*:*:stateMachine:prod-*"]
            [prices]
            "x9.large" = "1.5/0.25"
            "eu-west-1:m5.xlarge" = "0.214/0.048"
            spot_fraction = "0.3"
            """,
            path: "c.toml"
        )
        #expect(config.prices.price("x9.large", region: "us-east-1") == .init(ec2: 1.5, emr: 0.25))
        #expect(config.prices.price("m5.xlarge", region: "eu-west-1") == .init(ec2: 0.214, emr: 0.048))
        #expect(config.prices.price("m5.xlarge", region: "us-east-1") == .init(ec2: 0.192, emr: 0.048))
        #expect(config.prices.spotFraction == 0.3)
        #expect(config.regions == ["us-east-1", "eu-west-1"])
        #expect(config.database == "/var/lib/x # not a comment.sqlite")
        #expect(config.policy.grace == .seconds(5400))
        #expect(config.policy.actions[.succeeded] == .terminate)
        #expect(config.policy.maxTerminationsPerPass == 1000)
        #expect(config.policy.exemptTags.contains(.init(key: "keep", value: nil)))
        #expect(config.policy.exemptTags.contains(.init(key: "costguard:exempt", value: "true")))
    }

    @Test(
        "errors name the file, the line and the key",
        arguments: [
            ("grace = \"1h\"", "line 1: unknown key 'grace'"),
            ("[polcy]", "line 1: unknown table [polcy]"),
            ("quick_check_every = \"daily\"", "line 1: quick_check_every = \"daily\" is not a duration"),
            ("[policy]\ngrace = 15", "line 2: policy.grace must be a string"),
            ("[policy]\ngrace = \"15 minutes\"", "line 2: policy.grace = \"15 minutes\" is not a duration"),
            (
                "[policy]\non_failed = \"kill\"",
                "line 2: policy.on_failed = \"kill\" must be \"terminate\" or \"report\""
            ),
            ("[policy]\nunprotect = yes", "line 2: the value of unprotect is not a string"),
            ("regions = [\"a\", b]", "line 1: regions must be an array of strings"),
            ("database = \"open", "line 1: the string value of database is not closed"),
            (
                "[policy]\nmax_terminations_per_pass = -1",
                "line 2: policy.max_terminations_per_pass must be a whole number"
            ),
            ("just words", "line 1: expected 'key = value'"),
            ("[policy]\nexempt_tags = [\"\"]", "line 2: policy.exempt_tags has an entry \"\" without a tag key"),
            ("[policy]\nexempt_tags = [\"=x\"]", "line 2: policy.exempt_tags has an entry \"=x\" without a tag key"),
            (
                "[rate_limits]\nshare = \"1.5\"",
                "line 2: rate_limits.share = \"1.5\" must be a number in quotes above 0 and at most 1"
            ),
            (
                "[rate_limits]\n\"states:ListExecutions\" = \"fast\"",
                "line 2: rate_limits.\"states:ListExecutions\" = \"fast\" must be \"burst/per-second\""
            ),
            ("[rate_limits]\n\"ListExecutions\" = \"1/1\"", "line 2: unknown key 'rate_limits.ListExecutions'"),
        ]
    )
    func errors(text: String, message: String) {
        #expect(throws: ConfigFile.Problem.self) { try ConfigFile.parse(text, path: "c.toml") }
        do {
            _ = try ConfigFile.parse(text, path: "c.toml")
        } catch {
            #expect(error.description.contains("c.toml " + message), "\(error)")
        }
    }

    @Test("durations")
    func durations() {
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("2d1h") == .seconds(176_400))
        #expect(DurationText.parse("0s") == .zero)
        for bad in ["", "15", "m", "1x", "-5m", "1h3088888888888888888m", "99999999999d", "4000d"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
        #expect(DurationText.format(.seconds(5400)) == "1h30m")
    }
}
