import AWSClients
import ArgumentParser
import CostGuardCore
import CostGuardService

/// `costguard doctor`: is this machine set up to run CostGuard?
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the region, credentials, endpoints and IAM permissions CostGuard will use.",
        discussion: """
            Resolves the region and credentials as every command does, shows where each came from and whose they \
            are (GetCallerIdentity; never the secret), and checks each IAM permission CostGuard needs with a \
            harmless read call on a made-up resource. The mutating permissions (TerminateJobFlows, \
            SetTerminationProtection) are listed but not called. Then reads every state machine's definition as a \
            pass would: EXPRESS machines are named as not followable, and one CostGuard may not read (AccessDenied, \
            a KMS key it may not use) is a problem, with the fix.

            Exits 0 when everything checked is in order, 78 when something must be fixed.

            Example:
              AWS_PROFILE=costguard costguard doctor --region eu-west-1
            """
    )

    @OptionGroup var aws: AWSOptions

    func run() async throws {
        let environment = currentEnvironment()
        var problems = 0
        func line(_ label: String, _ value: String) {
            print(label + String(repeating: " ", count: max(0, 16 - label.count)) + value)
        }
        let settings: AWSSettings
        let caBundle: (path: String, source: String)?
        do {
            caBundle = try AWSSettings.caBundle(environment: environment, profile: aws.profile)
        } catch {
            printError("costguard doctor: \(error.message)")
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        let transport: any HTTPTransport
        let proxy: ProxyConfiguration
        do {
            proxy = try ProxyConfiguration.fromEnvironment(environment)
            transport = try makeHTTPTransport(environment: environment, caBundle: caBundle?.path)
        } catch {
            printError("costguard doctor: \(error.message)")
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        do {
            settings = try await AWSSettings.resolve(
                environment: environment,
                region: aws.region,
                profile: aws.profile,
                transport: transport
            )
        } catch {
            printError("costguard doctor: \(error.message)")
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        let context = AWSCallContext(
            transport: transport,
            retry: RetryStrategy(configuration: settings.retryConfiguration),
            attemptTimeout: .seconds(10)
        )
        line("region", "\(settings.region) (from \(settings.regionSource))")
        line("profile", settings.profileName + (settings.profileExplicit ? " (named)" : " (default)"))
        let proxies = [proxy.https.map { "HTTPS via \($0)" }, proxy.http.map { "HTTP via \($0)" }].compactMap { $0 }
        line(
            "proxy",
            (proxies.isEmpty ? "none" : proxies.joined(separator: ", "))
                + (proxy.noProxy.isEmpty ? "" : "; not for \(proxy.noProxy.joined(separator: ","))")
        )
        line("CA bundle", caBundle.map { "\($0.path) (from \($0.source)), besides the system's" } ?? "the system's")
        for service in AWSService.allCases {
            let endpoint = (try? settings.endpoint(service))?.description ?? "invalid"
            line("endpoint \(service.environmentID.lowercased())", endpoint)
        }
        let chain: CredentialChain
        let identity: STSClient.CallerIdentity
        do {
            chain = try settings.credentialChain(context: context)
            let credentials = try await chain.credentials()
            line(
                "credentials",
                "\(await chain.sourceName ?? "?") (access key \(Self.mask(credentials.accessKeyID))"
                    + (credentials.expiration.map { ", expires \($0)" } ?? "") + ")"
            )
            identity = try await STSClient(client: try settings.client(.sts, credentials: chain, context: context))
                .getCallerIdentity()
            line("identity", "\(identity.arn) (account \(identity.account))")
        } catch {
            line("credentials", "FAILED")
            printError("costguard doctor: \(error)")
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        let probe = PermissionProbe(
            sfn: SFNClient(client: try settings.client(.stepFunctions, credentials: chain, context: context)),
            emr: EMRClient(client: try settings.client(.emr, credentials: chain, context: context))
        )
        print("permissions")
        for result in await probe.run(account: identity.account, region: settings.region) {
            switch result.verdict {
            case .allowed: print("  ok       \(result.action)")
            case .denied:
                problems += 1
                print("  DENIED   \(result.action): allow it in CostGuard's IAM policy (Deploy/iam-policy.json)")
            case .unknown(let why): print("  unknown  \(result.action): the answer did not tell (\(why))")
            case .notChecked: print("  skipped  \(result.action): mutating, so doctor does not call it")
            }
        }
        let missing = problems
        print("state machines")
        problems += await checkStateMachines(probe.sfn)
        if problems > 0 {
            printError(
                "costguard doctor: "
                    + [
                        missing > 0 ? "\(missing) permission(s) missing" : nil,
                        problems > missing ? "\(problems - missing) state machine(s) unreadable" : nil,
                    ]
                    .compactMap { $0 }.joined(separator: ", ")
            )
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        print("ok")
    }

    /// Reads every state machine's definition as a pass would: EXPRESS machines are named as not followable, and
    /// each one CostGuard may not read (AccessDenied, a KMS key it may not use) is a problem, with the fix.
    ///
    /// - Returns: how many could not be read.
    func checkStateMachines(_ sfn: SFNClient) async -> Int {
        var machines: [SFN.StateMachineListItem] = []
        do {
            for try await page in sfn.listStateMachines() { machines += page.stateMachines }
        } catch {
            print("  FAILED   ListStateMachines: \(error)")
            return 1
        }
        var (followed, other, express, unreadable) = (0, 0, 0, 0)
        for machine in machines.sorted(by: { $0.stateMachineArn < $1.stateMachineArn }) {
            if machine.type == "EXPRESS" {
                express += 1
                print("  express  \(machine.name): not followable (EXPRESS keeps no execution list or history)")
                continue
            }
            do {
                let described = try await sfn.describeStateMachine(machine.stateMachineArn)
                if described.type == "EXPRESS" {
                    express += 1
                    print("  express  \(machine.name): not followable (EXPRESS keeps no execution list or history)")
                } else if (try? DefinitionAnalysis.analyze(described.definition).get())?.touchesEMR == false {
                    other += 1
                } else {
                    followed += 1
                }
            } catch {
                unreadable += 1
                print("  UNREADABLE \(machine.name): \(error)")
            }
        }
        print(
            "  \(machines.count) state machine(s): \(followed) followed (EMR tasks or child executions), \(other) "
                + "without EMR tasks (read only for handed-on cluster ids), \(express) EXPRESS, \(unreadable) unreadable"
        )
        return unreadable
    }

    /// `AKIA…WXYZ`: enough to recognise a key, not to use it (the id is not secret, but need not be shown whole).
    static func mask(_ key: String) -> String {
        key.count > 8 ? "\(key.prefix(4))…\(key.suffix(4))" : "…"
    }
}
