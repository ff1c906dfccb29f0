import CTraceSnapPluginABI
import Glibc

/// Loads plugin shared libraries and performs the ABI handshake.
///
/// The handshake refuses, with one clear message and before calling anything else in the
/// library: a file that cannot be loaded, a library without the v1 entry symbol (naming the
/// major it was built for when it exports another `tracesnap_plugin_init_vN`), an entry point that
/// reports an error, and a descriptor with the wrong magic, another ABI major or a struct smaller
/// than the 1.0 layout. Libraries are loaded with `RTLD_NOW | RTLD_LOCAL` and never unloaded.
public enum PluginLoader {
    /// `sizeof(ts_plugin_descriptor)` in ABI 1.0 (where the 1.1 members start): the smallest
    /// descriptor the host accepts.
    static let minimumDescriptorSize = MemoryLayout<ts_plugin_descriptor>.offset(of: \.watches)!

    /// Loaded libraries by real path, so a plugin named twice is loaded once. Guarded by `lock`:
    /// sessions (one per web request, say) and tests load plugins from several threads at once.
    nonisolated(unsafe) private static var cache: [String: UnsafePointer<ts_plugin_descriptor>] = [:]
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()

    public static func load(path: String) throws -> LoadedPlugin {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try loadLocked(path: path)
    }

    private static func loadLocked(path: String) throws -> LoadedPlugin {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let realPath = realpath(path, &resolved) != nil ? String(cString: resolved) : path
        if let descriptor = cache[realPath] {
            return LoadedPlugin(descriptor: descriptor, path: realPath)
        }
        guard access(realPath, R_OK) == 0 else {
            throw PluginError(path: path, message: "plugin \(path): no such file")
        }
        if let problem = SharedObjectCheck.problem(at: realPath) {
            throw PluginError(path: path, message: "plugin \(path) \(problem)")
        }
        guard let handle = dlopen(realPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw PluginError(path: path, message: "plugin \(path) could not be loaded: \(reason)")
        }
        guard let symbol = dlsym(handle, TS_PLUGIN_ENTRY_V1) else {
            for major in 2...9 where dlsym(handle, "tracesnap_plugin_init_v\(major)") != nil {
                throw PluginError(
                    path: path,
                    message: "plugin \(path) was built for plugin ABI v\(major); this tracesnap supports v\(TS_PLUGIN_ABI_MAJOR)")
            }
            throw PluginError(path: path, message: "\(path) is not a tracesnap plugin (no \(TS_PLUGIN_ENTRY_V1) symbol)")
        }
        let entry = unsafeBitCast(symbol, to: ts_plugin_init_v1_fn.self)
        var descriptor: UnsafePointer<ts_plugin_descriptor>?
        var error: UnsafeMutablePointer<CChar>?
        let status = entry(HostAPI.table, &descriptor, &error)
        let message = error.map { String(cString: $0) }
        if let error { free(error) }
        guard status == TS_OK, let descriptor else {
            throw PluginError(path: path, message: "plugin \(path) refused to start: \(message ?? "its entry point failed")")
        }
        let d = descriptor.pointee
        guard d.magic == TS_PLUGIN_MAGIC else {
            throw PluginError(path: path, message: "plugin \(path) returned a bad descriptor (wrong magic)")
        }
        guard d.abi_major == TS_PLUGIN_ABI_MAJOR else {
            throw PluginError(
                path: path,
                message: "plugin \(path) uses plugin ABI v\(d.abi_major); this tracesnap supports v\(TS_PLUGIN_ABI_MAJOR)")
        }
        guard Int(d.struct_size) >= minimumDescriptorSize else {
            throw PluginError(path: path, message: "plugin \(path) returned a truncated descriptor (\(d.struct_size) bytes)")
        }
        guard d.name != nil, d.kind & UInt32(TS_PLUGIN_KIND_TRANSFORM | TS_PLUGIN_KIND_SINK) != 0 else {
            throw PluginError(path: path, message: "plugin \(path) has no name or no kind")
        }
        cache[realPath] = descriptor
        return LoadedPlugin(descriptor: descriptor, path: realPath)
    }
}
