import TraceSnapLibrary
import TraceSnapTrace

/// A failure reported to the user as one `error: <message>` line and an exit status.
struct CLIError: Error, CustomStringConvertible {
    /// The text after `error: `.
    var message: String
    /// The process exit status (2 for usage errors and unknown records, 1 otherwise).
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    /// A usage error (exit status 2).
    static func usage(_ message: String) -> CLIError { CLIError(message, exitCode: 2) }

    var description: String { message }

    /// Maps a library error to the CLI's exit codes.
    init(_ error: LibraryError) {
        switch error.code {
        case .notFound, .invalidID, .invalidName: self.init(error.message, exitCode: 2)
        default: self.init(error.message, exitCode: 1)
        }
    }

    /// Maps a trace read error: the user named a file that is not a usable trace.
    init(_ error: TraceReadError) {
        self.init(error.description, exitCode: 2)
    }
}

/// Runs `body`, turning library and trace errors into ``CLIError``.
func withCLIErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as LibraryError {
        throw CLIError(error)
    } catch let error as TraceReadError {
        throw CLIError(error)
    }
}
