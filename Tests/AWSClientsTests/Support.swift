import AWSClients
import AWSSigV4
import CostGuardCore
import CostGuardTestKit
import Foundation
import Logging
import Synchronization

/// An environment for the AWS layer that sees nothing of the machine's: no real profiles, no IMDS.
func isolatedEnvironment(_ values: [String: String], home: String) -> [String: String] {
    var environment = ["HOME": home, "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"]
    for (key, value) in values { environment[key] = value }
    return environment
}

/// SFN, EMR and STS clients resolved from an environment, as `costguard` builds them.
struct Clients {
    var settings: AWSSettings
    var chain: CredentialChain
    var sfn: SFNClient
    var emr: EMRClient
    var sts: STSClient

    init(
        environment: [String: String],
        region: String? = nil,
        profile: String? = nil,
        context: AWSCallContext = testContext()
    ) async throws {
        settings = try await AWSSettings.resolve(
            environment: environment,
            region: region,
            profile: profile,
            transport: context.transport
        )
        chain = try settings.credentialChain(context: context)
        sfn = SFNClient(client: try settings.client(.stepFunctions, credentials: chain, context: context))
        emr = EMRClient(client: try settings.client(.emr, credentials: chain, context: context))
        sts = STSClient(client: try settings.client(.sts, credentials: chain, context: context))
    }
}

/// A call context for tests: one attempt unless said otherwise, no real sleeping.
func testContext(
    transport: any HTTPTransport = AsyncHTTPClientTransport(),
    maxAttempts: Int = 1,
    attemptTimeout: Duration = .seconds(20),
    sleeps: SleepRecorder = SleepRecorder(),
    now: @escaping @Sendable () -> Timestamp = { Timestamp.systemNow() },
    logger: Logger = Logger(label: "test")
) -> AWSCallContext {
    var retry = RetryStrategy.Configuration()
    retry.maxAttempts = maxAttempts
    return AWSCallContext(
        transport: transport,
        retry: RetryStrategy(configuration: retry),
        now: now,
        sleep: { duration in sleeps.record(duration) },
        random: { 0.5 },
        attemptTimeout: attemptTimeout,
        logger: logger
    )
}

/// Records the waits the retry loop asked for instead of sleeping.
final class SleepRecorder: Sendable {
    private let waits = Mutex<[Duration]>([])
    func record(_ duration: Duration) { waits.withLock { $0.append(duration) } }
    var recorded: [Duration] { waits.withLock { $0 } }
}

/// Collects every element of a page sequence into one array.
func all<Page, Item>(_ pages: PageSequence<Page>, _ items: (Page) -> [Item]) async throws -> [Item] {
    try await pages.collect().flatMap(items)
}

/// A fresh HOME for a test.
func temporaryHome() throws -> String { try TestPaths.temporaryDirectory() }
