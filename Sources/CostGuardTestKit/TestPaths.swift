import Foundation

/// Paths the tests need: the repository, its Python environment, and the built products.
public enum TestPaths {
    /// The repository root (this file is `Sources/CostGuardTestKit/TestPaths.swift`).
    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The Python of `.venv-test` (made by `Deploy/dev-setup.sh`), with the pinned moto and botocore.
    public static var python: String { repositoryRoot + "/.venv-test/bin/python" }

    /// A script under `Tests/Emulator/`.
    public static func emulatorScript(_ name: String) -> String { repositoryRoot + "/Tests/Emulator/" + name }

    /// The directory with the built executables, next to the running test bundle.
    public static let productsDirectory: String = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A fresh temporary directory.
    public static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "costguard-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Prints a figure SAFETY.md quotes (`Tests/safety_figures.py` collects them from a test run's output).
///
/// - Parameters:
///   - key: which figure (`randomized`, `faults`, …), the same every run.
///   - text: the figure, one sentence.
public func safetyFigure(_ key: String, _ text: String) {
    print("safety-figure \(key): \(text)")
}
