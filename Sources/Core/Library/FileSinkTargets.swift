#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import TraceSnapJSON

/// Where a file-writing sink (`sqlite`, `compact`) puts a recording: its `path` option, the
/// library (its `library` option, filed through `LibraryFiling`), both, or, with neither,
/// `<working directory>/<trace id>.<extension>`; and what it reports when it finishes.
public struct FileSinkTargets {
    public let path: String?
    public let filing: LibraryFiling?
    /// The file extension of the form (`sqlite`, `tsnap`).
    public let fileExtension: String

    /// From the sink's options (`path`, `library`).
    public init(options: JSONValue, fileExtension: String) {
        path = options["path"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        filing = options["library"].flatMap { $0.objectValue != nil ? LibraryFiling(options: $0) : nil }
        self.fileExtension = fileExtension
    }

    /// The files to write, in order: the `path` (or the working-directory default when there is no
    /// library either), then the library's file (its entry filed, marked partial, at once).
    public func begin(traceID: String, session: JSONValue) throws -> [String] {
        var paths: [String] = []
        if let path {
            paths.append(path)
        } else if filing == nil {
            paths.append(Self.defaultPath(traceID: traceID, fileExtension: fileExtension))
        }
        if let filing { paths.append(try filing.begin(traceID: traceID, session: session, extension: fileExtension)) }
        return paths
    }

    /// The session as stored (`library_id` set when filed).
    public func finalSession(_ session: JSONValue) -> JSONValue { filing?.finalSession(session) ?? session }

    /// Files the final library entry (when there is one) and returns the sink's result object:
    /// `{path}`, or `{path, id, name, project[, copies]}` for a library recording.
    public func finish(session: JSONValue, partial: Bool, written: [String]) throws -> JSONValue {
        guard let filing, let id = filing.id else { return .object([("path", .string(written.first ?? ""))]) }
        let meta = try filing.finish(session: session, partial: partial, extension: fileExtension)
        var result: [(String, JSONValue)] = [
            ("path", .string(written.last ?? "")), ("id", .string(id)), ("name", .string(meta.name)),
            ("project", .string(filing.project)),
        ]
        if path != nil, let first = written.first { result.append(("copies", .array([.string(first)]))) }
        return .object(result)
    }

    /// `<working directory>/<trace id>.<extension>`, the id reduced to safe file-name characters.
    public static func defaultPath(traceID: String, fileExtension: String) -> String {
        let safe = String(traceID.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return scalar.isASCII && (c.isLetter || c.isNumber || "._-".contains(c)) ? c : "_"
        })
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let directory = getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "."
        return directory + "/" + (safe.isEmpty || safe.hasPrefix(".") ? "trace" + safe : safe) + "." + fileExtension
    }
}
