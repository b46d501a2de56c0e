/// The CostGuard release this source tree builds.
public enum CostGuardVersion {
    /// Semantic version of the binary.
    public static let current = "0.1.0"
}
