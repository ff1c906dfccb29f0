import Foundation
import TraceSnapLibrary

/// Environment variables and paths the host uses. Each `TRACESNAP_*` variable is declared once here.
enum HostEnvironment {
    /// `TRACESNAP_HOME`: the library root (default `~/.tracesnap`).
    static let homeVariable = "TRACESNAP_HOME"
    /// `TRACESNAP_PLAYERS_DIR`: the directory with the browser players (`index.html`, `src/`).
    static let playersVariable = "TRACESNAP_PLAYERS_DIR"
    /// `TRACESNAP_PYTHON`: the interpreter `record` runs (after `--python`).
    static let pythonVariable = "TRACESNAP_PYTHON"
    /// `TRACESNAP_PYTHON_PACKAGE`: the `tracesnap` Python package directory holding `_launch.py`.
    static let pythonPackageVariable = "TRACESNAP_PYTHON_PACKAGE"
    /// `TRACESNAP_RECORD_REQUEST`: the JSON request `record` hands to `_launch.py`.
    static let recordRequestVariable = "TRACESNAP_RECORD_REQUEST"
    /// `TRACESNAP_NO_BROWSER`: when `1`, `view` never opens a browser (tests, CI).
    static let noBrowserVariable = "TRACESNAP_NO_BROWSER"

    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    /// The library, reporting index recovery on stderr.
    static func library() -> TraceLibrary {
        TraceLibrary(root: TraceLibrary.defaultRoot(environment: variables)) { message in
            Output.warning(message)
        }
    }

    /// The home directory, for showing paths as `~/…`.
    static var home: String? { variables["HOME"] }

    /// The absolute path of this executable.
    static var executablePath: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return path
        }
        return FileSystem.absolute(CommandLine.arguments[0], base: FileSystem.currentDirectory())
    }

    /// The directory with the browser players: `$TRACESNAP_PLAYERS_DIR`, else `<exe dir>/../players`
    /// (the installed layout), else a `Players/` directory above the executable (a development
    /// build in `.build/<config>/`). Nil when none has an `index.html`.
    static func playersDirectory() -> String? {
        if let dir = variables[playersVariable], !dir.isEmpty {
            return FileSystem.realPath(dir) ?? FileSystem.absolute(dir, base: FileSystem.currentDirectory())
        }
        let exeDir = FileSystem.dirname(of: executablePath)
        let installed = FileSystem.absolute("../players", base: exeDir)
        if FileSystem.kind(installed + "/index.html") == .file { return installed }
        var dir = exeDir
        while dir != "/" {
            let candidate = dir + "/Players"
            if FileSystem.kind(candidate + "/index.html") == .file { return candidate }
            dir = FileSystem.dirname(of: dir)
        }
        return nil
    }

    /// The `tracesnap` Python package directory: `$TRACESNAP_PYTHON_PACKAGE`, else two levels
    /// above the executable (it ships as `tracesnap/bin/tracesnap`), else, for a development build
    /// in `.build/<config>/`, `integrations/python/src/tracesnap` in the checkout above it.
    static func pythonPackageDirectory() -> String {
        if let dir = variables[pythonPackageVariable], !dir.isEmpty {
            return FileSystem.absolute(dir, base: FileSystem.currentDirectory())
        }
        let shipped = FileSystem.dirname(of: FileSystem.dirname(of: executablePath))
        if FileSystem.kind(shipped + "/_launch.py") == .file { return shipped }
        var dir = FileSystem.dirname(of: executablePath)
        while dir != "/" {
            let candidate = dir + "/integrations/python/src/tracesnap"
            if FileSystem.kind(candidate + "/_launch.py") == .file { return candidate }
            dir = FileSystem.dirname(of: dir)
        }
        return shipped
    }

    /// Finds `name` on `$PATH`.
    static func which(_ name: String) -> String? {
        for dir in (variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileSystem.kind(candidate) == .file && access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
