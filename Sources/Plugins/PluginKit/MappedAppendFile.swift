import Glibc


/// An append-only file written through a shared memory mapping.
///
/// Bytes copied into a `MAP_SHARED` mapping belong to the kernel's page cache the moment they are
/// copied, so they reach the file even when the process is killed (SIGKILL, a segfault,
/// `os._exit`) a nanosecond later — with no system call per append. The file grows in chunks;
/// until `close` trims it, its tail past the last append is zero bytes, which readers skip.
public final class MappedAppendFile {
    public let path: String
    private var descriptor: Int32
    @usableFromInline var mapping: UnsafeMutableRawPointer?
    /// File offset where the current mapping starts, and its size.
    @usableFromInline var mappingOffset = 0
    @usableFromInline var mappingSize = 0
    /// Bytes appended so far (the file's logical length).
    public var length: Int { appended }
    @usableFromInline var appended = 0
    private let chunkSize: Int

    public init(path: String, chunkSize: Int = 8 << 20) throws {
        self.path = path
        self.chunkSize = chunkSize
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw PluginFailure("cannot write \(path): \(MappedAppendFile.lastError())") }
        try map(from: 0, atLeast: chunkSize)
    }

    deinit { try? close() }

    /// Appends `bytes`.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try reserve(bytes.count).copyMemory(from: base, byteCount: bytes.count)
        commit(bytes.count)
    }

    /// Room for `count` bytes at the end of the file, to be written in place and then counted
    /// with `commit` (before any other append). Bytes written there but not committed are
    /// overwritten by the next append.
    @inlinable
    public func reserve(_ count: Int) throws -> UnsafeMutableRawPointer {
        guard appended + count <= mappingOffset + mappingSize, let mapping else { return try reserveSlow(count) }
        return mapping + (appended - mappingOffset)
    }

    @usableFromInline
    func reserveSlow(_ count: Int) throws -> UnsafeMutableRawPointer {
        if appended + count > mappingOffset + mappingSize {
            try map(from: appended, atLeast: count)
        }
        guard let mapping else { throw PluginFailure("\(path) is closed") }
        return mapping + (appended - mappingOffset)
    }

    /// Counts `count` bytes written at the place `reserve` returned.
    @inlinable
    public func commit(_ count: Int) { appended += count }

    /// Trims the zero tail, syncs and closes the file.
    public func close() throws {
        guard descriptor >= 0 else { return }
        unmap()
        defer {
            Glibc.close(descriptor)
            descriptor = -1
        }
        guard ftruncate(descriptor, off_t(appended)) == 0 else {
            throw PluginFailure("cannot finish \(path): \(MappedAppendFile.lastError())")
        }
        fsync(descriptor)
    }

    /// Maps a new window of the file that starts at the page holding `offset` and holds at least
    /// `needed` bytes past it, growing the file first.
    private func map(from offset: Int, atLeast needed: Int) throws {
        unmap()
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let size = ((offset - start + max(needed, chunkSize)) + page - 1) / page * page
        guard ftruncate(descriptor, off_t(start + size)) == 0 else {
            throw PluginFailure("cannot grow \(path): \(MappedAppendFile.lastError())")
        }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, off_t(start))
        guard let address, address != MAP_FAILED else {
            throw PluginFailure("cannot map \(path): \(MappedAppendFile.lastError())")
        }
        mapping = address
        mappingOffset = start
        mappingSize = size
    }

    private func unmap() {
        if let mapping { munmap(mapping, mappingSize) }
        mapping = nil
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
