#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a trace file could not be read; ``description`` is one line naming the file.
public struct TraceReadError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable { case missing, directory, unreadable, empty, notJSON, notATrace }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// No such file.
        public static let missing = Code(.missing)
        /// The path is a directory.
        public static let directory = Code(.directory)
        /// The file exists but cannot be read.
        public static let unreadable = Code(.unreadable)
        /// The file is empty.
        public static let empty = Code(.empty)
        /// The file is not JSON.
        public static let notJSON = Code(.notJSON)
        /// The file is JSON but not a trace.
        public static let notATrace = Code(.notATrace)
    }

    public let code: Code
    public let path: String
    public let detail: String

    public init(_ code: Code, path: String, _ detail: String = "") {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .missing: return "\(path): no such file"
        case .directory: return "\(path) is a directory, not a trace file"
        case .empty: return "\(path) is empty, not a trace file"
        case .notJSON: return "\(path) is not a JSON file (\(detail))"
        case .notATrace: return "\(path) is not a tracesnap trace (\(detail))"
        default: return "cannot read \(path): \(detail)"
        }
    }

    /// Throws when `path` is missing, a directory, or not a regular file.
    static func checkReadable(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw TraceReadError(.missing, path: path) }
            throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        if info.st_mode & S_IFMT == S_IFDIR { throw TraceReadError(.directory, path: path) }
        if info.st_mode & S_IFMT != S_IFREG { throw TraceReadError(.unreadable, path: path, "not a regular file") }
    }
}
