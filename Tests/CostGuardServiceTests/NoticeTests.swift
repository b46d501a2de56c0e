import AWSClients
import CostGuardCore
import CostGuardLedger
import CostGuardService
import CostGuardTestKit
import Foundation
import Logging
import Testing

/// Notices to people (issue 29): written to the ledger's outbox with the decision or outcome they report, delivered
/// to a Slack-compatible webhook (a scripted server on loopback) with retries; the URL never reaches a log.
@Suite("Notices: the outbox and the webhook", .serialized)
struct NoticeTests {
    /// A secret-looking path, as Slack's are.
    static let secretPath = "/services/T0000/B0000/s3cr3tT0k3n"

    /// A harness whose passes write webhook notices, and a sender pointed at `server`.
    func harness(_ server: ScriptedServer, logs: LogCapture) throws -> (InProcessPassTests.Harness, NoticeSender) {
        let h = try InProcessPassTests.Harness()
        let clock = h.clock
        let webhook = try WebhookChannel(url: server.url + Self.secretPath, transport: AsyncHTTPClientTransport())
        let sender = NoticeSender(ledger: h.ledger, webhook: webhook, now: { clock.now }, logger: logs.logger)
        return (h, sender)
    }

    @Test("found, then terminated: each written once with its decision, delivered in order; 429 and 5xx retried")
    func foundThenTerminated() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["times": 1, "status": 429, "headers": ["Retry-After": "7"], "body": "rate limited"],
            ["times": 1, "status": 503, "body": "unavailable"],
            ["status": 200, "body": "ok"],
        ])
        defer { server.stop() }
        let logs = LogCapture()
        let (h, sender) = try harness(server, logs: logs)
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "late", cluster: "j-LATE", status: .failed, endedAgo: .seconds(60))
        // In its grace: found, told with the time it will be terminated and the command that keeps it.
        _ = try await h.reconciler(notify: [.webhook]).runPass()
        _ = try await h.reconciler(notify: [.webhook]).runPass()
        let found = try h.ledger.notices.of(cluster: "j-LATE")
        #expect(found.map(\.kind) == [.orphan], "once, however many passes see it")
        let text = try #require(found.first?.text)
        #expect(text.contains("will terminate it at 2027-01-15T08:14:00.000Z (end of its grace period)"), "\(text)")
        #expect(text.contains("aws emr add-tags --region us-east-1 --resource-id j-LATE --tags costguard:exempt=true"))

        // 429 with Retry-After: 7 s; then a 503: the backoff (1 min after a second failure); then delivered.
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 1, failed: 0))
        #expect(try await sender.deliverDue() == .init(), "not due before Retry-After")
        h.clock.advance(.seconds(7))
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 1, failed: 0))
        h.clock.advance(.seconds(59))
        #expect(try await sender.deliverDue() == .init(), "backoff not over")
        h.clock.advance(.seconds(1))
        #expect(try await sender.deliverDue() == .init(delivered: 1, retrying: 0, failed: 0))

        // Past the grace it is terminated: the notice is written with the outcome, with AWS's request id.
        h.clock.advance(.seconds(900))
        let pass = try await h.reconciler(notify: [.webhook]).runPass()
        #expect(pass.terminated == ["j-LATE"])
        #expect(try await sender.deliverDue() == .init(delivered: 1, retrying: 0, failed: 0))
        let notices = try h.ledger.notices.of(cluster: "j-LATE")
        #expect(notices.map(\.kind) == [.orphan, .terminated] && notices.allSatisfy(\.delivered))
        #expect(notices.last?.text.contains("(TerminateJobFlows request req-terminate-1)") == true)

        let bodies = try server.requests().map(\.body)
        #expect(bodies.count == 4)
        let last = try JSONSerialization.jsonObject(with: Data(bodies[3].utf8)) as? [String: Any]
        #expect((last?["text"] as? String)?.hasPrefix("CostGuard terminated EMR cluster j-LATE") == true)
        #expect((last?["blocks"] as? [[String: Any]])?.count == 1)
        #expect(try server.requests().allSatisfy { $0.path == Self.secretPath })
        // The URL is a secret: no log line carries it, or its path.
        #expect(!logs.all.isEmpty && logs.all.allSatisfy { !$0.contains("s3cr3t") && !$0.contains(server.url) })
        #expect(try h.ledger.notices.counts() == .init(pending: 0, delivered: 2, failed: 0))
    }

    @Test("a 4xx other than 429 is final; a dry run writes no notice; no channel, no notice")
    func refusals() async throws {
        let server = try await ScriptedServer.start(rules: [
            ["status": 410, "body": "channel_is_archived"]
        ])
        defer { server.stop() }
        let logs = LogCapture()
        let (h, sender) = try harness(server, logs: logs)
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "stopped", cluster: "j-STOPPED", status: .aborted)
        h.aws.runCreatingCluster(etl, name: "failed", cluster: "j-FAILED", status: .failed, endedAgo: .seconds(60))
        _ = try await h.reconciler(dryRun: true, notify: [.webhook]).runPass()
        _ = try await h.reconciler().runPass()
        #expect(try h.ledger.notices.counts() == .init(), "dry run and no channel: nothing written")
        h.aws.runCreatingCluster(etl, name: "third", cluster: "j-THIRD", status: .failed, endedAgo: .seconds(60))
        _ = try await h.reconciler(notify: [.webhook]).runPass()
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 0, failed: 1))
        h.clock.advance(.seconds(7200))
        #expect(try await sender.deliverDue() == .init(), "never again")
        #expect(try server.requests().count == 1)
        #expect(try h.ledger.notices.counts() == .init(pending: 0, delivered: 0, failed: 1))
        #expect(logs.all.contains { $0.contains("HTTP 410 (channel_is_archived)") && $0.contains("giving up") })
        #expect(logs.all.allSatisfy { !$0.contains("s3cr3t") })
    }

    @Test("costguard report says when notices wait or were given up")
    func reportShowsUndelivered() async throws {
        let server = try await ScriptedServer.start(rules: [["status": 404, "body": "no_service"]])
        defer { server.stop() }
        let path = try TestPaths.temporaryDirectory() + "/ledger.sqlite"
        let h = try InProcessPassTests.Harness(path: path)
        let clock = h.clock
        let sender = NoticeSender(
            ledger: h.ledger,
            webhook: try WebhookChannel(url: server.url + Self.secretPath, transport: AsyncHTTPClientTransport()),
            now: { clock.now },
            logger: LogCapture().logger
        )
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "late", cluster: "j-LATE", status: .failed, endedAgo: .seconds(60))
        _ = try await h.reconciler(notify: [.webhook]).runPass()
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 0, failed: 1))
        let report = try await runToCompletion(
            TestPaths.productsDirectory + "/costguard",
            ["report", "--database", path],
            environment: ["PATH": "/usr/bin:/bin", "HOME": try TestPaths.temporaryDirectory()]
        )
        #expect(report.stdout.contains("Notices: 0 delivered, 0 waiting, 1 given up"), "\(report.stdout)")
    }

    @Test("a webhook that does not answer is retried with backoff and given up after the last attempt")
    func unreachable() async throws {
        let logs = LogCapture()
        let port = freeLoopbackPort()
        let h = try InProcessPassTests.Harness()
        let clock = h.clock
        var sender = NoticeSender(
            ledger: h.ledger,
            webhook: try WebhookChannel(
                url: "http://127.0.0.1:\(port)" + Self.secretPath,
                transport: AsyncHTTPClientTransport(),
                timeout: .seconds(2)
            ),
            now: { clock.now },
            logger: logs.logger
        )
        sender.maxAttempts = 2
        let etl = h.aws.addStateMachine("etl")
        h.aws.runCreatingCluster(etl, name: "late", cluster: "j-LATE", status: .failed, endedAgo: .seconds(60))
        _ = try await h.reconciler(notify: [.webhook]).runPass()
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 1, failed: 0))
        h.clock.advance(NoticeSender.backoff(afterAttempts: 1))
        #expect(try await sender.deliverDue() == .init(delivered: 0, retrying: 0, failed: 1))
        #expect(logs.all.contains { $0.contains("gave up after 2 attempts") })
        #expect(logs.all.allSatisfy { !$0.contains("s3cr3t") }, "\(logs.all)")
        #expect(NoticeSender.backoff(afterAttempts: 1) == .seconds(30))
        #expect(NoticeSender.backoff(afterAttempts: 20) == .seconds(3600))
    }

    @Test("the real binary on the emulator: the terminated notice reaches the webhook named by a file, once")
    func endToEnd() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting"])
        defer { world.emulator.stop() }
        let server = try await ScriptedServer.start(rules: [["status": 200, "body": "ok"]])
        defer { server.stop() }
        let home = world.environment["HOME"] ?? "/tmp"
        try (server.url + Self.secretPath + "\n").write(toFile: home + "/hook", atomically: true, encoding: .utf8)
        try "[notify]\nwebhook_url_file = \"\(home)/hook\"\n".write(
            toFile: home + "/notify.toml",
            atomically: true,
            encoding: .utf8
        )
        let cluster = try #require(world.scenarios["stopped-while-waiting"]?.clusterIds.first)
        for _ in 0..<2 {
            let pass = try await world.reconcile([
                "--grace", "0s", "--redrive-grace", "0s", "--config", home + "/notify.toml", "--verbose",
            ])
            #expect(pass.status == 0, "\(pass.stderr)")
            #expect(!pass.stderr.contains("s3cr3t") && !pass.stdout.contains("s3cr3t"))
        }
        let requests = try server.requests()
        #expect(requests.count == 1, "once, though two passes ran: \(requests.map(\.body))")
        #expect(requests.first?.body.contains("CostGuard terminated EMR cluster \(cluster)") == true)
        #expect(requests.first?.headers.first { $0.key.lowercased() == "content-type" }?.value == "application/json")
        let ledger = try Ledger.openReadOnly(path: world.database)
        #expect(try ledger.notices.counts() == .init(pending: 0, delivered: 1, failed: 0))
    }

    @Test("serve killed (SIGKILL) while a notice is on its way: after a restart it is delivered, none lost")
    func killedMidDelivery() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting"])
        defer { world.emulator.stop() }
        // The first hook takes the request and never answers in time; the second answers.
        let hanging = try await ScriptedServer.start(rules: [["delay": 60, "body": "ok"]])
        defer { hanging.stop() }
        let working = try await ScriptedServer.start(rules: [["status": 200, "body": "ok"]])
        defer { working.stop() }
        func serve(_ hook: ScriptedServer) throws -> Process {
            var environment = world.environment
            environment["COSTGUARD_WEBHOOK_URL"] = hook.url + Self.secretPath
            let serve = Process()
            serve.executableURL = URL(fileURLWithPath: TestPaths.productsDirectory + "/costguard")
            serve.arguments = [
                "serve", "--database", world.database, "--interval", "60s", "--grace", "0s", "--redrive-grace", "0s",
                "--metrics-address", "off",
            ]
            serve.environment = environment
            serve.standardOutput = FileHandle.nullDevice
            serve.standardError = FileHandle.nullDevice
            try serve.run()
            return serve
        }
        func waitUntil(_ condition: () throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(45)
            while ContinuousClock.now < deadline {
                if try condition() { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        let first = try serve(hanging)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        #expect(try await waitUntil { try !hanging.requests().isEmpty }, "the notice was never sent")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let killed = try Ledger.openReadOnly(path: world.database)
        #expect(try killed.notices.counts() == .init(pending: 1, delivered: 0, failed: 0), "kept, not delivered")

        let second = try serve(working)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        #expect(
            try await waitUntil { try Ledger.openReadOnly(path: world.database).notices.counts().delivered == 1 },
            "not delivered after the restart"
        )
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        let requests = try working.requests()
        #expect(requests.count == 1 && requests.first?.body.contains("CostGuard terminated EMR cluster") == true)
        #expect(try hanging.requests().count == 1)
    }

    /// Runs `code` with boto3 against the emulator (argv[1] is its endpoint); returns its stdout.
    func boto3(_ world: ReconcileScenarioTests.World, _ code: String, _ arguments: [String] = []) async throws -> String
    {
        let prelude = """
            import boto3, json, sys
            def client(name):
                return boto3.client(name, endpoint_url=sys.argv[1], region_name="us-east-1",
                                    aws_access_key_id="testing", aws_secret_access_key="testing")

            """
        let run = try await runToCompletion(
            TestPaths.python,
            ["-c", prelude + code, world.emulator.endpoint] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": world.environment["HOME"] ?? "/tmp"]
        )
        guard run.status == 0 else { throw TestKitError("boto3: \(run.stderr.suffix(1500))") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("SNS: the real binary publishes the terminated notice once; the topic's SQS subscriber receives it")
    func sns() async throws {
        let world = try await ReconcileScenarioTests().makeWorld(only: ["stopped-while-waiting"])
        defer { world.emulator.stop() }
        let topic = try await boto3(
            world,
            """
            sns, sqs = client("sns"), client("sqs")
            topic = sns.create_topic(Name="costguard-notices")["TopicArn"]
            queue = sqs.create_queue(QueueName="costguard-notices")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
            print(topic)
            """
        )
        let home = world.environment["HOME"] ?? "/tmp"
        try "[notify]\nsns_topic_arn = \"\(topic)\"\n".write(
            toFile: home + "/sns.toml",
            atomically: true,
            encoding: .utf8
        )
        let cluster = try #require(world.scenarios["stopped-while-waiting"]?.clusterIds.first)
        for _ in 0..<2 {
            let pass = try await world.reconcile([
                "--grace", "0s", "--redrive-grace", "0s", "--config", home + "/sns.toml",
            ])
            #expect(pass.status == 0, "\(pass.stderr)")
        }
        let received = try await boto3(
            world,
            """
            sqs = client("sqs")
            queue = sqs.get_queue_url(QueueName="costguard-notices")["QueueUrl"]
            out = []
            for _ in range(3):
                for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                    out.append(json.loads(m["Body"]))
            print(json.dumps(out))
            """
        )
        let envelopes = try #require(try JSONSerialization.jsonObject(with: Data(received.utf8)) as? [[String: Any]])
        #expect(envelopes.count == 1, "once, though two passes ran: \(received)")
        #expect(
            (envelopes.first?["Message"] as? String)?.hasPrefix("CostGuard terminated EMR cluster \(cluster)") == true
        )
        #expect(envelopes.first?["Subject"] as? String == "CostGuard: terminated EMR cluster \(cluster)")
        #expect(envelopes.first?["TopicArn"] as? String == topic)
        let ledger = try Ledger.openReadOnly(path: world.database)
        #expect(try ledger.notices.counts() == .init(pending: 0, delivered: 1, failed: 0))
        // The client is made in the topic's region; anything but a topic ARN is refused at set-up.
        #expect(SNSChannel.region(ofTopic: "arn:aws:sns:eu-west-1:123456789012:t") == "eu-west-1")
        #expect(SNSChannel.region(ofTopic: "arn:aws:sqs:us-east-1:123456789012:q") == nil)
        #expect(SNSChannel.region(ofTopic: "costguard-notices") == nil)
    }

    @Test("the webhook URL is refused in the config file, and a bad one is refused without being shown")
    func configuration() throws {
        let error = #expect(throws: ConfigFile.Problem.self) {
            try ConfigFile.parse("[notify]\nwebhook_url = \"https://hooks.example/s3cr3t\"\n", path: "c.toml")
        }
        #expect(error?.message.contains("is a secret") == true)
        #expect(error?.description.contains("s3cr3t") == false)
        let parsed = try ConfigFile.parse("[notify]\nwebhook_url_file = \"/etc/costguard/hook\"\n", path: "c.toml")
        #expect(parsed.webhookURLFile == "/etc/costguard/hook")
        let refused = #expect(throws: WebhookChannel.SetupProblem.self) {
            try WebhookChannel(url: "hooks.example/s3cr3t", transport: AsyncHTTPClientTransport())
        }
        #expect(refused?.message.contains("s3cr3t") == false)
    }
}
