#if canImport(Glibc)
    import Glibc
#endif

/// Writing to stdout and stderr, unbuffered enough for interactive use.
enum Output {
    /// Prints a line to stdout.
    static func line(_ text: String) {
        print(text)
        fflush(stdout)
    }

    /// Prints a line to stderr.
    static func note(_ text: String) {
        fputs(text + "\n", stderr)
    }

    /// Prints `error: <message>` to stderr.
    static func error(_ message: String) {
        fflush(stdout)
        fputs("error: \(message)\n", stderr)
    }

    /// Prints `tracesnap: warning: <message>` to stderr.
    static func warning(_ message: String) {
        fputs("tracesnap: warning: \(message)\n", stderr)
    }

    /// `text` in single quotes for messages, with control characters made visible.
    static func quoted(_ text: String) -> String {
        "'" + TextTable.visible(text) + "'"
    }

    /// `path` with the home directory shown as `~`.
    static func tildePath(_ path: String, home: String?) -> String {
        guard let home, !home.isEmpty, home != "/" else { return path }
        if path == home { return "~" }
        if path.hasPrefix(home + "/") { return "~" + path.dropFirst(home.count) }
        return path
    }
}
