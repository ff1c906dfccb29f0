import Glibc

/// The recorder's own messages: one line each on stderr, prefixed `tracesnap:`. Never stdout,
/// which belongs to the traced program.
public enum HostLog {
    /// Set from `TRACESNAP_DEBUG=1`: also print debug messages.
    nonisolated(unsafe) public static var verbose = getenv("TRACESNAP_DEBUG").map { String(cString: $0) == "1" } ?? false

    public static func warning(_ message: String) {
        write("tracesnap: warning: \(message)\n")
    }

    public static func info(_ message: String) {
        write("tracesnap: \(message)\n")
    }

    public static func debug(_ message: String) {
        if verbose { write("tracesnap: debug: \(message)\n") }
    }

    /// Where messages go; tests capture them.
    nonisolated(unsafe) public static var sink: ((String) -> Void)?

    private static func write(_ text: String) {
        if let sink {
            sink(text)
            return
        }
        var copy = text
        copy.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
