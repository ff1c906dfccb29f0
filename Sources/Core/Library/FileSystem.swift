#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers for the library store. Foundation-free on purpose: the recorder's
/// library sink plugin links this target inside the user's Python process.
public enum FileSystem {
    /// The text of `errno` for messages.
    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// The kind of a path, following symlinks.
    public enum Kind: Sendable { case missing, file, directory, other }

    /// What `path` is (following symlinks).
    public static func kind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Size and modification time of a file, or nil.
    public static func sizeAndMTime(_ path: String) -> (size: Int, mtime: Double)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
            let spec = info.st_mtimespec
        #else
            let spec = info.st_mtim
        #endif
        return (Int(info.st_size), Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }

    /// Reads a whole file, or throws with a one-line message.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LibraryError(.io, "cannot read \(path): \(errnoText())") }
        defer { close(fd) }
        var result: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 { result.reserveCapacity(Int(info.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LibraryError(.io, "cannot read \(path): \(errnoText())")
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// Reads a file as UTF-8 text (invalid bytes are replaced).
    public static func readText(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
    /// fsync'd and renamed over `path`, then the directory is fsync'd. Readers see either the old
    /// or the new content, never a torn file.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let dir = dirname(of: path)
        var template = Array("\(dir)/.\(basename(of: path)).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw LibraryError(.io, "cannot write in \(dir): \(errnoText())") }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = writeAll(fd, bytes)
        let writeErrno = errno
        if ok { ok = fsync(fd) == 0 }
        fchmod(fd, mode)
        close(fd)
        guard ok else {
            unlink(tempPath)
            throw LibraryError(.io, "cannot write \(path): \(errnoText(writeErrno))")
        }
        guard rename(tempPath, path) == 0 else {
            let code = errno
            unlink(tempPath)
            throw LibraryError(.io, "cannot write \(path): \(errnoText(code))")
        }
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Writes text atomically.
    public static func writeAtomically(_ path: String, text: String, mode: mode_t = 0o644) throws {
        try writeAtomically(path, Array(text.utf8), mode: mode)
    }

    /// Creates `path` and its parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String) throws {
        if kind(path) == .directory { return }
        let parent = dirname(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw LibraryError(.io, "cannot create \(path): \(errnoText())")
        }
    }

    /// Names in a directory (without `.` and `..`), or [] when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file; true when it was removed or did not exist.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0 || errno == ENOENT
    }

    /// The canonical absolute path (symlinks resolved), or nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The current working directory.
    public static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// `path` made absolute against `base` and normalized (`.` and `..` removed lexically).
    public static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : base + "/" + path)
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of a path (`/a/b` → `/a`, `b` → `.`).
    public static func dirname(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last component of a path.
    public static func basename(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The value of an environment variable.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// The home directory from `$HOME`, else the password database.
    public static func homeDirectory(environment env: [String: String]) -> String {
        if let home = env["HOME"], !home.isEmpty { return home }
        if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }
}

/// `read(2)`, reachable from inside types that have their own `read` member.
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// `rename(2)`, reachable from inside types that have their own `rename` member.
func posixRename(_ from: String, _ to: String) -> Int32 {
    rename(from, to)
}
