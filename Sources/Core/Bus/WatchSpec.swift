/// One Python callable a plugin watches (`ts_watch`, plugin ABI 1.1), as the host keeps it.
public struct WatchSpec: Sendable {
    /// Index into the plugin's `watches` (passed back in `ts_watch_call.watch_index`).
    public let index: UInt32
    /// The module that defines the callable, e.g. `"requests.sessions"`.
    public let module: String
    /// `"Session.send"` (a class attribute) or a module-level function name.
    public let qualname: String
    /// The attribute paths read from every finished call.
    public let reads: [String]
}
