import CostGuardCore
import CostGuardLedger
import CostGuardTestKit
import Foundation
import Testing

/// A fresh directory under the system temp dir, removed when the test's `withTemporaryDirectory` body returns.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "costguard-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Async variant.
func withAsyncTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "costguard-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The directory holding the built products (`costguard`, `costguard-test-helper`).
let productsDirectory = TestPaths.productsDirectory

/// The path of a built executable product.
func product(_ name: String) -> String { productsDirectory + "/" + name }

/// What a finished child process did.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments` to completion and captures its output.
@discardableResult
func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil
) throws
    -> ProcessResult
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes before waiting, so a chatty child never blocks on a full pipe.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self)
    )
}

/// SHA-256-free fingerprint of a file's bytes, to prove a refused file was left untouched.
func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// A fixed time for tests.
let testNow = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)

/// The repository root (for reading `Migrations/`).
let repositoryRoot = TestPaths.repositoryRoot
