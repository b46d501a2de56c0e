import Foundation

/// Where the tests run.
public enum TestEnvironment {
    /// `CI=true` (or any value but `false`/`0`): a test that cannot run here must fail, not skip, so that nothing CI
    /// is meant to prove goes unproven silently.
    public static let isCI: Bool = {
        guard let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() else { return false }
        return !["", "false", "0", "no"].contains(value)
    }()
}
