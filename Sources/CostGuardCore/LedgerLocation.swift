/// Where the ledger lives when `--database` is not given.
public enum LedgerLocation {
    /// The ledger path: the explicit one, else `$COSTGUARD_DATABASE`, else `$STATE_DIRECTORY/ledger.sqlite`
    /// (systemd `StateDirectory=`; the first entry when several are listed), else
    /// `$XDG_STATE_HOME/costguard/ledger.sqlite`, else `$HOME/.local/state/costguard/ledger.sqlite`.
    public static func resolve(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = environment["COSTGUARD_DATABASE"], !path.isEmpty { return path }
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first {
            return "\(first)/ledger.sqlite"
        }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return "\(xdg)/costguard/ledger.sqlite" }
        return "\(environment["HOME"] ?? ".")/.local/state/costguard/ledger.sqlite"
    }
}
