// swift-tools-version:6.2
import PackageDescription

/// Settings every CostGuard target shares: Swift 6 mode plus the two upcoming features the style guide asks for.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // The build stays warning-free: a warning in our sources fails it (dependencies are not affected).
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "costguard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "costguard", targets: ["costguard"])
    ],
    dependencies: [
        // The mirrors on the build machines hold few tags: pin exact versions.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
    ],
    targets: [
        // The system SQLite (libsqlite3-dev): no vendored copy, so security updates come from the distribution.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Domain model and policy. No I/O, no clock reads.
        .target(
            name: "CostGuardCore",
            swiftSettings: strictSettings
        ),
        // The SQLite ledger and the audit journal. `Migrations/` (linked into the target) is embedded at build time.
        .target(
            name: "CostGuardLedger",
            dependencies: ["CostGuardCore", "CSQLite", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.embedInCode("Migrations")],
            swiftSettings: strictSettings
        ),
        // AWS Signature Version 4. Pure: swift-crypto for the hashes, the time passed in.
        .target(
            name: "AWSSigV4",
            dependencies: ["CostGuardCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Credentials, endpoints, the JSON and query protocols, retries, and the SFN, EMR and STS clients.
        .target(
            name: "AWSClients",
            dependencies: [
                "AWSSigV4",
                "CostGuardCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        // The guard: one reconcile pass (discover, observe, decide, re-check, journal, act), and later the daemon.
        .target(
            name: "CostGuardService",
            dependencies: [
                "AWSClients",
                "CostGuardCore",
                "CostGuardLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The command-line front end: parses arguments, wires the modules, runs.
        .executableTarget(
            name: "costguard",
            dependencies: [
                "AWSClients",
                "CostGuardService",
                "CostGuardCore",
                "CostGuardLedger",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Test support shared by the test targets: the emulator, scripted HTTP servers, child processes.
        .target(
            name: "CostGuardTestKit",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // A helper the tests run as a real child process (crash and concurrent-writer tests). Never installed.
        .executableTarget(
            name: "costguard-test-helper",
            dependencies: ["CostGuardCore", "CostGuardLedger"],
            path: "Sources/CostGuardTestHelper",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4", "CostGuardCore"],
            exclude: ["sigv4-test-suite", "botocore_sign.py"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSClientsTests",
            dependencies: [
                "AWSClients", "AWSSigV4", "CostGuardCore", "CostGuardTestKit",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CostGuardServiceTests",
            dependencies: [
                "AWSClients", "CostGuardCore", "CostGuardLedger", "CostGuardService", "CostGuardTestKit",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            // Read from the source tree by path (ReportTests.goldenDirectory), not bundled.
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CostGuardCoreTests",
            dependencies: ["CostGuardCore", "CostGuardTestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CostGuardLedgerTests",
            dependencies: ["CostGuardLedger", "CostGuardCore", "CostGuardTestKit"],
            swiftSettings: strictSettings
        ),
    ]
)
