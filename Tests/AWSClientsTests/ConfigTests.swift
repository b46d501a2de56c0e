import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Testing

@Suite("Shared config, regions and endpoints")
struct ConfigTests {
    func home(config: String? = nil, credentials: String? = nil) throws -> String {
        let home = try temporaryHome()
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        if let config { try config.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8) }
        if let credentials {
            try credentials.write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        }
        return home
    }

    @Test("profiles, nested blocks, comments; credentials-file keys win")
    func parsing() throws {
        let home = try home(
            config: """
                # comment
                [default]
                region = eu-west-1 ; inline comment
                [profile dev]
                region=us-west-2
                services = local
                s3 =
                  max_concurrent_requests = 4
                [services local]
                sfn =
                  endpoint_url = http://127.0.0.1:4566
                """,
            credentials: """
                [dev]
                aws_access_key_id = AKIADEV
                aws_secret_access_key = devsecret
                region = ignored-because-config-has-it-too
                """
        )
        let files = try SharedConfigFiles.load(environment: ["HOME": home])
        #expect(files.profile("default")?["region"] == "eu-west-1")
        let dev = try #require(files.profile("dev"))
        #expect(dev["aws_access_key_id"] == "AKIADEV")
        #expect(dev["region"] == "ignored-because-config-has-it-too", "credentials-file keys take precedence")
        #expect(dev.blocks["s3"]?["max_concurrent_requests"] == "4")
        #expect(files.services["local"]?.blocks["sfn"]?["endpoint_url"] == "http://127.0.0.1:4566")
        #expect(files.profileNames == ["default", "dev"])
    }

    @Test("a malformed file names the file and the line")
    func malformed() throws {
        let home = try home(config: "[default]\nregion = us-east-1\nthis line has no equals\n")
        let error = try #require(throws: AWSError.self) { try SharedConfigFiles.load(environment: ["HOME": home]) }
        #expect(error.message == "\(home)/.aws/config line 3: expected 'key = value'")
        let early = try self.home(config: "region = us-east-1\n")
        let before = try #require(throws: AWSError.self) { try SharedConfigFiles.load(environment: ["HOME": early]) }
        #expect(before.message.contains("line 1: a setting appears before any [section] header"))
    }

    @Test("region order: --region, AWS_REGION, AWS_DEFAULT_REGION, profile; none is an error with the fix")
    func regionOrder() async throws {
        let home = try home(config: "[default]\nregion = eu-central-1\n[profile other]\nregion = ap-south-1\n")
        func region(_ env: [String: String], flag: String? = nil, profile: String? = nil) async throws -> String {
            var environment = env
            environment["HOME"] = home
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
            return try await AWSSettings.resolve(
                environment: environment,
                region: flag,
                profile: profile,
                transport: AsyncHTTPClientTransport()
            ).region
        }
        #expect(
            try await region(["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"], flag: "sa-east-1")
                == "sa-east-1"
        )
        #expect(try await region(["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"]) == "us-east-2")
        #expect(try await region(["AWS_DEFAULT_REGION": "us-west-1"]) == "us-west-1")
        #expect(try await region([:]) == "eu-central-1")
        #expect(try await region(["AWS_PROFILE": "other"]) == "ap-south-1")
        #expect(try await region([:], profile: "other") == "ap-south-1")
        let empty = try self.home()
        let error = try await #require(throws: AWSError.self) {
            try await AWSSettings.resolve(
                environment: ["HOME": empty, "AWS_EC2_METADATA_DISABLED": "true"],
                transport: AsyncHTTPClientTransport()
            )
        }
        #expect(
            error.message.contains(
                "no AWS region is set (EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED). Fix: pass --region, set AWS_REGION"
            )
        )
        let missing = try await #require(throws: AWSError.self) {
            try await AWSSettings.resolve(
                environment: ["HOME": home, "AWS_PROFILE": "nope"],
                transport: AsyncHTTPClientTransport()
            )
        }
        #expect(missing.message.contains("the profile 'nope' is in neither"))
        #expect(missing.message.contains("found: default, other"))
    }

    @Test("CA bundle: AWS_CA_BUNDLE, else the profile's ca_bundle (~ expanded); an unreadable one names its setting")
    func caBundle() throws {
        let home = try home(
            config: """
                [default]
                ca_bundle = ~/default-ca.pem
                [profile corp]
                ca_bundle = ~/corp-ca.pem
                [profile broken]
                ca_bundle = /nonexistent/ca.pem
                [profile plain]
                region = us-east-1
                """
        )
        for name in ["default-ca.pem", "corp-ca.pem", "env-ca.pem"] {
            try "-----BEGIN CERTIFICATE-----\n".write(toFile: home + "/" + name, atomically: true, encoding: .utf8)
        }
        let byDefault = try #require(try AWSSettings.caBundle(environment: ["HOME": home]))
        #expect(byDefault.path == home + "/default-ca.pem")
        #expect(byDefault.source.contains("ca_bundle of profile default in \(home)/.aws/config"))
        #expect(
            try AWSSettings.caBundle(environment: ["HOME": home, "AWS_PROFILE": "corp"])?.path == home + "/corp-ca.pem"
        )
        #expect(
            try AWSSettings.caBundle(environment: ["HOME": home, "AWS_PROFILE": "plain"], profile: "corp")?.path == home
                + "/corp-ca.pem"
        )
        #expect(try AWSSettings.caBundle(environment: ["HOME": home], profile: "plain") == nil)
        let environment = try #require(
            try AWSSettings.caBundle(
                environment: ["HOME": home, "AWS_CA_BUNDLE": home + "/env-ca.pem"],
                profile: "corp"
            )
        )
        #expect(environment.path == home + "/env-ca.pem" && environment.source == "AWS_CA_BUNDLE")
        let broken = try #require(throws: AWSError.self) {
            try AWSSettings.caBundle(environment: ["HOME": home], profile: "broken")
        }
        #expect(broken.kind == .configuration)
        #expect(
            broken.message.contains(
                "cannot read the CA bundle /nonexistent/ca.pem (set by ca_bundle of profile broken in"
            )
        )
        let missing = try #require(throws: AWSError.self) {
            try AWSSettings.caBundle(environment: ["HOME": home, "AWS_CA_BUNDLE": home + "/nope.pem"])
        }
        #expect(missing.message.contains("cannot read the CA bundle \(home)/nope.pem (set by AWS_CA_BUNDLE)"))
    }

    @Test("endpoints: service variable, global variable, [services] block, profile endpoint_url, default by partition")
    func endpoints() throws {
        let home = try home(
            config: """
                [default]
                region = us-east-1
                services = local
                endpoint_url = http://127.0.0.1:9000
                [services local]
                emr =
                  endpoint_url = http://127.0.0.1:9100
                """
        )
        let files = try SharedConfigFiles.load(environment: ["HOME": home])
        let profile = files.profile("default")
        func endpoint(_ service: AWSService, _ env: [String: String], region: String = "us-east-1") throws -> Endpoint {
            try Endpoint.resolve(service, region: region, environment: env, profile: profile, files: files)
        }
        #expect(
            try endpoint(
                .stepFunctions,
                ["AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"]
            ).url == "http://127.0.0.1:1"
        )
        #expect(try endpoint(.stepFunctions, ["AWS_ENDPOINT_URL": "http://127.0.0.1:2"]).source == "AWS_ENDPOINT_URL")
        #expect(try endpoint(.emr, [:]).url == "http://127.0.0.1:9100")
        #expect(try endpoint(.stepFunctions, [:]).url == "http://127.0.0.1:9000")
        #expect(
            try endpoint(.sts, ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]).url
                == "https://sts.us-east-1.amazonaws.com"
        )
        #expect(
            Endpoint.defaultEndpoint(.emr, region: "cn-north-1").url
                == "https://elasticmapreduce.cn-north-1.amazonaws.com.cn"
        )
        #expect(
            Endpoint.defaultEndpoint(.stepFunctions, region: "us-gov-west-1").url
                == "https://states.us-gov-west-1.amazonaws.com"
        )
        #expect(Partition.of(region: "us-gov-east-1").name == "aws-us-gov")
        #expect(Partition.of(region: "cn-northwest-1").name == "aws-cn")
        #expect(
            Endpoint(url: "https://states.us-east-1.amazonaws.com", source: "").host == "states.us-east-1.amazonaws.com"
        )
        #expect(Endpoint(url: "http://127.0.0.1:5000", source: "").host == "127.0.0.1:5000")
        let bad = try #require(throws: AWSError.self) { try endpoint(.emr, ["AWS_ENDPOINT_URL_EMR": "localhost:5000"]) }
        #expect(
            bad.message.contains("AWS_ENDPOINT_URL_EMR is 'localhost:5000', which is not an http:// or https:// URL")
        )
    }

    @Test("profile credential errors: source_profile loops, missing source profiles, MFA, SSO, bad credential_source")
    func profileErrors() async throws {
        let home = try home(
            config: """
                [profile a]
                role_arn = arn:aws:iam::1:role/a
                source_profile = b
                [profile b]
                role_arn = arn:aws:iam::1:role/b
                source_profile = a
                [profile orphan]
                role_arn = arn:aws:iam::1:role/o
                source_profile = ghost
                [profile mfa]
                role_arn = arn:aws:iam::1:role/m
                source_profile = a
                mfa_serial = arn:aws:iam::1:mfa/me
                [profile sso]
                sso_session = corp
                [profile weird]
                role_arn = arn:aws:iam::1:role/w
                credential_source = Somewhere
                """
        )
        let expectations = [
            ("a", "source_profile loop: a → b → a"),
            ("orphan", "names source_profile ghost, which does not exist"),
            ("mfa", "requires MFA"),
            ("sso", "IAM Identity Center (SSO)"),
            ("weird", "credential_source 'Somewhere' is not one of"),
        ]
        for (profile, message) in expectations {
            let settings = try await AWSSettings.resolve(
                environment: ["HOME": home, "AWS_EC2_METADATA_DISABLED": "true"],
                region: "us-east-1",
                profile: profile,
                transport: AsyncHTTPClientTransport()
            )
            let error = try await #require(throws: AWSError.self) {
                try await settings.credentialChain(context: testContext()).credentials()
            }
            #expect(error.message.contains(message), "\(profile): \(error.message)")
        }
    }

    @Test("HTTP dates and credential_process command lines parse like the SDKs")
    func smallParsers() {
        #expect(HTTPDate.parse("Tue, 24 Nov 2026 20:39:46 GMT") == Timestamp(iso8601: "2026-11-24T20:39:46Z"))
        #expect(HTTPDate.parse("garbage") == nil)
    }
}
