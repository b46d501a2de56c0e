import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

/// The AWS clients against moto on 127.0.0.1 with signature and IAM enforcement on.
@Suite("AWS clients against the emulator (IAM enforced)", .serialized)
struct MotoIntegrationTests {
    func environment(
        _ emulator: Emulator,
        _ user: Emulator.IAMFixture.User,
        home: String,
        secret: String? = nil
    ) -> [String: String] {
        isolatedEnvironment(
            [
                "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": user.accessKeyId, "AWS_SECRET_ACCESS_KEY": secret ?? user.secretAccessKey,
            ],
            home: home
        )
    }

    @Test("every operation moto implements succeeds with the right key")
    func everyOperation() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let guardUser = try #require(fixture.users["guard"])
        let clients = try await Clients(environment: environment(emulator, guardUser, home: try temporaryHome()))

        let identity = try await clients.sts.getCallerIdentity()
        #expect(identity.arn == guardUser.arn)
        #expect(identity.account == fixture.account)

        let machines = try await all(clients.sfn.listStateMachines()) { $0.stateMachines }
        // The seeded pipeline, and the EXPRESS front door in front of it (its type is listed, as AWS lists it).
        #expect(
            machines.map(\.stateMachineArn)
                == [fixture.stateMachineArn, fixture.stateMachineArn + "-front"]
                .map { $0.replacingOccurrences(of: "emr-pipeline-front", with: "express-front-door") }
        )
        #expect(machines.map(\.type) == ["STANDARD", "EXPRESS"])
        let described = try await clients.sfn.describeStateMachine(fixture.stateMachineArn)
        #expect(described.definition.contains("elasticmapreduce:createCluster.sync"))
        let executions = try await all(clients.sfn.listExecutions(.stateMachine(fixture.stateMachineArn))) {
            $0.executions
        }
        #expect(executions.map(\.executionArn) == [fixture.executionArn])
        let running = try await all(
            clients.sfn.listExecutions(.stateMachine(fixture.stateMachineArn), status: .running, pageSize: 1)
        ) { $0.executions }
        #expect(running.map(\.status) == ["RUNNING"])
        let execution = try await clients.sfn.describeExecution(fixture.executionArn)
        #expect(execution.status == "RUNNING")
        #expect(execution.startDate.millisecondsSinceEpoch > 1_700_000_000_000)
        let history = try await all(clients.sfn.getExecutionHistory(fixture.executionArn)) { $0.events }
        #expect(!history.isEmpty)
        #expect(history.first?.id == 1)

        let clusters = try await all(clients.emr.listClusters(states: [.starting, .bootstrapping, .running, .waiting]))
        { $0.clusters }
        #expect(clusters.map(\.id) == [fixture.clusterId])
        let cluster = try await clients.emr.describeCluster(fixture.clusterId)
        #expect(cluster.status.state == "WAITING")
        #expect(cluster.terminationProtected == false)
        let groups = try await all(clients.emr.listInstanceGroups(fixture.clusterId)) { $0.instanceGroups }
        #expect(groups.reduce(0) { $0 + ($1.runningInstanceCount ?? 0) } == 3)
        let steps = try await all(clients.emr.listSteps(fixture.clusterId)) { $0.steps }
        #expect(steps.isEmpty)

        try await clients.emr.setTerminationProtection([fixture.clusterId], protected: true)
        #expect(try await clients.emr.describeCluster(fixture.clusterId).terminationProtected == true)
        try await clients.emr.setTerminationProtection([fixture.clusterId], protected: false)
        let requestID = try await clients.emr.terminateJobFlows([fixture.clusterId])
        #expect(requestID != nil)
        #expect(try await clients.emr.describeCluster(fixture.clusterId).status.state == "TERMINATED")
        let remaining = try await all(clients.emr.listClusters(states: [.waiting])) { $0.clusters }
        #expect(remaining.isEmpty)
    }

    @Test("a wrong secret surfaces SignatureDoesNotMatch with the fix, and never the secret")
    func wrongSecret() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let guardUser = try #require(fixture.users["guard"])
        let wrong = "wrongSECRETwrongSECRETwrongSECRETwrong123"
        let capture = LogCapture()
        let clients = try await Clients(
            environment: environment(emulator, guardUser, home: try temporaryHome(), secret: wrong),
            context: testContext(maxAttempts: 3, logger: capture.logger)
        )
        for call in [
            { _ = try await clients.sfn.describeExecution(fixture.executionArn) },
            { _ = try await clients.emr.describeCluster(fixture.clusterId) },
            { _ = try await clients.sts.getCallerIdentity() },
        ] as [() async throws -> Void] {
            let error = try await #require(throws: AWSError.self) { try await call() }
            #expect(error.code == "SignatureDoesNotMatch", "\(error)")
            #expect(error.statusCode == 403)
            #expect(error.description.contains("secret access key does not match"))
            #expect(!error.description.contains(wrong) && !error.debugDescription.contains(wrong))
        }
        #expect(!capture.all.joined().contains(wrong))
    }

    @Test("a policy without the action gives AccessDenied naming it")
    func accessDenied() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let reader = try #require(fixture.users["reader"])
        let clients = try await Clients(environment: environment(emulator, reader, home: try temporaryHome()))
        _ = try await clients.sfn.describeExecution(fixture.executionArn)
        let history = try await #require(throws: AWSError.self) {
            _ = try await clients.sfn.getExecutionHistory(fixture.executionArn).collect()
        }
        #expect(history.code == "AccessDenied", "\(history)")
        #expect(history.message.contains("states:GetExecutionHistory"))
        #expect(history.description.contains("allow states:GetExecutionHistory"))
        let terminate = try await #require(throws: AWSError.self) {
            try await clients.emr.terminateJobFlows([fixture.clusterId])
        }
        #expect(terminate.message.contains("elasticmapreduce:TerminateJobFlows"))
        #expect(try await clients.emr.describeCluster(fixture.clusterId).status.state == "WAITING")
    }

    @Test("profile role_arn + source_profile assumes the role through STS; the role's policy then applies")
    func assumeRoleProfile() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let guardUser = try #require(fixture.users["guard"])
        let home = try temporaryHome()
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try """
        [profile base]
        aws_access_key_id = \(guardUser.accessKeyId)
        aws_secret_access_key = \(guardUser.secretAccessKey)

        [profile ops]
        role_arn = \(fixture.roleArn)
        source_profile = base
        role_session_name = costguard-test
        region = us-east-1
        """.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)
        let environment = isolatedEnvironment(
            [
                "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_PROFILE": "ops",
                // Ignored: a named profile wins over the environment's keys, as in the AWS CLI.
                "AWS_ACCESS_KEY_ID": "AKIAIGNOREDIGNORED00", "AWS_SECRET_ACCESS_KEY": "ignored",
            ],
            home: home
        )
        let clients = try await Clients(environment: environment)
        let identity = try await clients.sts.getCallerIdentity()
        #expect(identity.arn.hasSuffix(":assumed-role/guard-role/costguard-test"), "\(identity.arn)")
        #expect(clients.settings.regionSource == "profile ops region")
        _ = try await clients.emr.describeCluster(fixture.clusterId)
        let denied = try await #require(throws: AWSError.self) {
            try await clients.emr.terminateJobFlows([fixture.clusterId])
        }
        #expect(denied.message.contains("TerminateJobFlows"))
        #expect(await clients.chain.sourceName == "profile ops")
    }

    @Test("credential_process and web identity (AssumeRoleWithWebIdentity through moto STS)")
    func processAndWebIdentity() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await emulator.setUpIAM()
        let guardUser = try #require(fixture.users["guard"])
        let home = try temporaryHome()
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        let script = home + "/creds.sh"
        try """
        #!/bin/sh
        echo '{"Version": 1, "AccessKeyId": "\(guardUser.accessKeyId)", "SecretAccessKey": "\(guardUser.secretAccessKey)"}'
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o700)
        try "[default]\ncredential_process = \(script) --flag 'quoted arg'\nregion = us-east-1\n"
            .write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)
        let process = try await Clients(
            environment: isolatedEnvironment(["AWS_ENDPOINT_URL": emulator.endpoint], home: home)
        )
        #expect(try await process.sts.getCallerIdentity().arn == guardUser.arn)

        let tokenFile = home + "/token"
        try "eyJhbGciOiJSUzI1NiJ9.e30.signature".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let web = try await Clients(
            environment: isolatedEnvironment(
                [
                    "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_REGION": "us-east-1",
                    "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                    "AWS_ROLE_ARN": fixture.webRoleArn, "AWS_ROLE_SESSION_NAME": "pod-1",
                ],
                home: try temporaryHome()
            )
        )
        let identity = try await web.sts.getCallerIdentity()
        #expect(identity.arn.contains("assumed-role/web-role/pod-1"), "\(identity.arn)")
        _ = try await web.sfn.describeExecution(fixture.executionArn)
    }
}
