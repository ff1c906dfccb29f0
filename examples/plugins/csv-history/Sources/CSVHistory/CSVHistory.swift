import Glibc
import TraceSnapPluginKit

/// `csv-history`: a sink that writes the history of every variable to a CSV file, one row per
/// binding: the call arguments, then every assignment, in-place change and deletion.
///
/// Options (`[options.csv-history]` in `.tracesnap.toml`):
/// - `path`: the CSV file (default: `<output_dir>/<trace id>.csv-history`, given by tracesnap).
///
/// Columns: `seq,function,frame_id,line,variable,kind,change_index,type,value`, where `kind` is
/// `arg`, `assign`, `mutation` or `delete`. Fields are quoted as RFC 4180 says, and a value that
/// starts with `=`, `+`, `@`, a tab or a carriage return gets a leading `'` so a spreadsheet
/// shows it as text instead of running it as a formula. The file is written to `PATH.partial`
/// and renamed into place when the recording ends.
final class CSVHistory: TraceSnapPlugin {
    static let name = "csv-history"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let events = EventMask([TS_EVENT_CALL, TS_EVENT_ASSIGN])

    private let path: String
    private var file: UnsafeMutablePointer<FILE>?
    private var rows = 0

    init(options: JSONValue) throws {
        guard let path = options["path"]?.stringValue, !path.isEmpty else {
            throw PluginFailure("csv-history needs a \"path\" option (the CSV file to write)")
        }
        self.path = path
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        guard let file = fopen(path + ".partial", "w") else {
            throw PluginFailure("cannot write \(path).partial: \(String(cString: strerror(errno)))")
        }
        self.file = file
        write(["seq", "function", "frame_id", "line", "variable", "kind", "change_index", "type", "value"])
        return nil
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        guard event.type == TS_EVENT_CALL || event.type == TS_EVENT_ASSIGN else { return }
        let common = [String(event.seq), event.functionString, String(event.frameID), String(event.line)]
        if event.type == TS_EVENT_CALL {
            for (name, value) in event.arguments {
                write(common + [name, "arg", "0", value.typeName, value.repr])
            }
            return
        }
        let kind: String
        if event.flags & UInt32(TS_EVENTF_DELETED) != 0 {
            kind = "delete"
        } else if event.flags & UInt32(TS_EVENTF_MUTATION) != 0 {
            kind = "mutation"
        } else {
            kind = "assign"
        }
        let value = event.value
        write(common + [event.nameString, kind, String(event.index), value.typeName, value.isPresent ? value.repr : ""])
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard let file else { throw PluginFailure("csv-history was never started") }
        self.file = nil
        let failed = fflush(file) != 0
        fclose(file)
        if failed { throw PluginFailure("cannot write \(path).partial: \(String(cString: strerror(errno)))") }
        guard rename(path + ".partial", path) == 0 else {
            throw PluginFailure("cannot rename \(path).partial: \(String(cString: strerror(errno)))")
        }
        return FinishResult(result: .object([("path", .string(path)), ("rows", .int(Int64(rows)))]))
    }

    private func write(_ fields: [String]) {
        guard let file else { return }
        let line = fields.map(Self.field).joined(separator: ",") + "\r\n"
        fputs(line, file)
        rows += 1
    }

    /// One CSV field: quoted when it holds a comma, quote or line break; formula starts defused.
    static func field(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, ["=", "+", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}

// The one export line (wrapped in the C entry point tracesnap looks for).
@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(CSVHistory.self, host: host, descriptor: descriptor, error: error)
}
