import Foundation
import TraceSnapJSON
import TraceSnapLibrary

/// Lists the Python scripts under the scan root for the record page.
enum SourceScanner {
    /// Directory names never entered (besides every name starting with a dot).
    static let skippedDirectories: Set<String> = [
        "venv", "env", "__pycache__", "node_modules", "dist", "build", "site-packages", "htmlcov",
        "__pypackages__",
    ]
    /// Most files listed.
    static let limit = 2000

    /// `{"cwd", "files": [{path, rel, size, mtime}], "truncated"}` for `root`.
    static func list(root: String) -> JSONValue {
        var files: [JSONValue] = []
        var truncated = false
        var queue = [root]
        while !queue.isEmpty && !truncated {
            let dir = queue.removeFirst()
            for name in FileSystem.list(dir).sorted() {
                if name.hasPrefix(".") { continue }
                let path = dir == "/" ? "/" + name : dir + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                let type = info.st_mode & S_IFMT
                if type == S_IFDIR {
                    if skippedDirectories.contains(name) || name.hasSuffix(".egg-info") { continue }
                    if FileSystem.kind(path + "/pyvenv.cfg") == .file { continue }
                    queue.append(path)
                } else if type == S_IFREG && name.hasSuffix(".py") {
                    if files.count >= limit {
                        truncated = true
                        break
                    }
                    let rel = String(path.dropFirst(root == "/" ? 1 : root.count + 1))
                    let mtime = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                    files.append(
                        .object([
                            ("path", .string(path)), ("rel", .string(rel)), ("size", .int(Int64(info.st_size))),
                            ("mtime", .double(mtime)),
                        ]))
                }
            }
        }
        return .object([("cwd", .string(root)), ("files", .array(files)), ("truncated", .bool(truncated))])
    }
}
