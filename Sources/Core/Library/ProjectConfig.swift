/// The project a directory belongs to, from the nearest `.tracesnap.toml`.
///
/// The configuration is resolved by `tracesnap/_config.py` (see docs/config.md); the host asks it
/// (`ProjectResolver`) and uses this reader only when no Python can run it, and to write the file.
///
/// The file is TOML; tracesnap reads one top-level key, `project = "name"` (basic or literal
/// string, trailing comments allowed). Without a config, or with an empty key, the directory's own
/// name is the project, and `"default"` is the last resort.
public enum ProjectConfig {
    /// The config file name.
    public static let fileName = ".tracesnap.toml"

    /// Where a project name came from.
    public enum Origin: Equatable, Sendable {
        /// Read from this config file.
        case config(String)
        /// The folder's name (no config, or a config without a usable `project`).
        case folderName(configPath: String?)
        /// Nothing usable at all.
        case fallback
    }

    /// A resolved project name and its origin.
    public struct Resolved: Equatable, Sendable {
        public var name: String
        public var origin: Origin
    }

    /// The nearest `.tracesnap.toml` in `directory` or one of its parents.
    public static func findConfig(from directory: String) -> String? {
        var dir = FileSystem.absolute(directory, base: FileSystem.currentDirectory())
        while true {
            let candidate = dir == "/" ? "/\(fileName)" : "\(dir)/\(fileName)"
            if FileSystem.kind(candidate) == .file { return candidate }
            if dir == "/" { return nil }
            dir = FileSystem.dirname(of: dir)
        }
    }

    /// The project for records made from `directory`.
    public static func resolve(from directory: String) -> Resolved {
        let dir = FileSystem.absolute(directory, base: FileSystem.currentDirectory())
        let config = findConfig(from: dir)
        if let config, let text = try? FileSystem.readText(config), let name = parseProject(text),
            !name.isEmpty
        {
            return Resolved(name: name, origin: .config(config))
        }
        let folder = FileSystem.basename(of: dir)
        if !folder.isEmpty && folder != "/" {
            return Resolved(name: folder, origin: .folderName(configPath: config))
        }
        return Resolved(name: "default", origin: .fallback)
    }

    // MARK: - Parsing

    /// The value of the top-level `project` key, or nil when absent or unparsable.
    public static func parseProject(_ text: String) -> String? {
        var inRootTable = true
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }) {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                inRootTable = false
                continue
            }
            guard inRootTable, let (key, rest) = splitKey(line), key == "project" else { continue }
            return parseStringValue(rest)
        }
        return nil
    }

    /// Splits `key = rest` (bare or quoted key); nil when the line is not a key/value pair.
    static func splitKey(_ line: Substring) -> (String, Substring)? {
        var key: String
        var rest: Substring
        if line.hasPrefix("\"") || line.hasPrefix("'") {
            guard let (parsed, after) = parseString(line) else { return nil }
            key = parsed
            rest = after
        } else {
            let end =
                line.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) ?? line.endIndex
            key = String(line[..<end])
            rest = line[end...]
        }
        rest = rest.drop(while: { $0 == " " || $0 == "\t" })
        guard rest.hasPrefix("=") else { return nil }
        key = key.trimmingSpaces()
        return (key, rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" }))
    }

    /// A string value followed only by whitespace and an optional comment.
    static func parseStringValue(_ text: Substring) -> String? {
        guard let (value, after) = parseString(text) else { return nil }
        let tail = after.drop(while: { $0 == " " || $0 == "\t" })
        guard tail.isEmpty || tail.hasPrefix("#") else { return nil }
        return value
    }

    /// Parses one TOML basic (`"…"`, with escapes) or literal (`'…'`) single-line string.
    static func parseString(_ text: Substring) -> (String, Substring)? {
        guard let quote = text.first, quote == "\"" || quote == "'" else { return nil }
        var result = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let c = text[index]
            if c == quote { return (result, text[text.index(after: index)...]) }
            if c == "\\" && quote == "\"" {
                index = text.index(after: index)
                guard index < text.endIndex else { return nil }
                switch text[index] {
                case "\"": result.append("\"")
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "b": result.append("\u{8}")
                case "f": result.append("\u{C}")
                case "e": result.append("\u{1B}")
                case "u", "U":
                    let width = text[index] == "u" ? 4 : 8
                    var hex = ""
                    for _ in 0..<width {
                        index = text.index(after: index)
                        guard index < text.endIndex else { return nil }
                        hex.append(text[index])
                    }
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else { return nil }
                    result.unicodeScalars.append(scalar)
                default: return nil
                }
            } else {
                result.append(c)
            }
            index = text.index(after: index)
        }
        return nil
    }

    // MARK: - Writing

    /// `name` as a TOML basic string, escaping `"`, `\` and control characters.
    public static func quote(_ name: String) -> String {
        var out = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The text `tracesnap init` writes: the project, then every other key commented out with
    /// its default (docs/config.md describes them; `tracesnap._config` reads them).
    public static func initialText(project: String) -> String {
        """
        # tracesnap project config
        #
        # Traces recorded from this directory (and below) are tagged with this project.
        # `tracesnap list --project NAME` and the view server's project filter use it.
        # Change it with `tracesnap project NEW_NAME`.
        project = \(quote(project))

        # Precedence: command line > TRACESNAP_* environment > this file > [tool.tracesnap] in
        # pyproject.toml > defaults. Paths are relative to this file. See docs/config.md.

        # Extra plugins, run in this order after the built-in annotator and redactor: built-in
        # names (json, library, ...), names found in plugin_path / TRACESNAP_PLUGIN_PATH as
        # lib<NAME>.so, or paths to .so files. `tracesnap plugins` lists what can be found.
        # plugins = ["json"]
        # plugin_path = ["plugins"]

        # Extra variable names to redact (on top of password, token, secret, authorization, api_key).
        # redact = ["pin", "cvv"]

        # Where `tracesnap record` sends the trace: "library" (~/.tracesnap) or another sink plugin,
        # which then writes <output_dir>/<trace id>.<sink name> unless its options give a path.
        # sink = "library"
        # output_dir = "traces"

        # Which files are traced besides the script and the local modules it imports (globs
        # relative to this file; `**` matches any depth).
        # [source]
        # include = ["lib/**/*.py"]
        # exclude = ["**/migrations/*.py"]

        # Options for one plugin, a table per plugin name.
        # [options.json]
        # path = "traces/latest.json"

        """
    }

    /// `text` with its top-level `project` set to `name`; comments and other keys are kept.
    public static func updating(_ text: String, project name: String) -> String {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map(String.init)
        let newLine = "project = \(quote(name))"
        var firstTable: Int?
        for (i, raw) in lines.enumerated() {
            let line = Substring(raw).drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[") {
                firstTable = i
                break
            }
            if line.hasPrefix("#") { continue }
            if let (key, rest) = splitKey(line), key == "project" {
                var comment = ""
                if let (_, after) = parseString(rest) {
                    let tail = after.drop(while: { $0 == " " || $0 == "\t" })
                    if tail.hasPrefix("#") { comment = "  " + tail }
                }
                lines[i] = newLine + comment
                return lines.joined(separator: "\n")
            }
        }
        if let firstTable {
            lines.insert(contentsOf: [newLine, ""], at: firstTable)
        } else {
            if let last = lines.last, last.isEmpty { lines.removeLast() }
            lines.append(newLine)
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// Creates or updates the config at `path` so its project is `name`.
    public static func write(project name: String, to path: String) throws {
        let text: String
        if FileSystem.kind(path) == .file {
            text = updating(try FileSystem.readText(path), project: name)
        } else {
            text = initialText(project: name)
        }
        try FileSystem.writeAtomically(path, text: text, mode: 0o644)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
