import Glibc

/// Checks, before `dlopen`, that a file is a complete ELF shared object.
///
/// `dlopen` maps a library's segments as its headers describe them; a truncated file (a copy cut
/// short, a half-written download) is mapped past its end, and touching that memory kills the
/// whole process with SIGBUS. The recorder lives inside someone else's program, so a truncated
/// plugin must be refused with a message instead.
enum SharedObjectCheck {
    /// Nil when the file looks loadable, else the reason it is not.
    static func problem(at path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "cannot be read (\(String(cString: strerror(errno))))" }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return "cannot be read" }
        let size = UInt64(status.st_size)
        var header = [UInt8](repeating: 0, count: 64)
        guard readAt(descriptor, &header, offset: 0), header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C,
            header[3] == 0x46
        else { return "is not a shared library (no ELF header)" }
        guard header[4] == 2 else { return "is not a 64-bit shared library" }
        let programHeaderOffset = load64(header, 32)
        let sectionHeaderOffset = load64(header, 40)
        let programHeaderSize = UInt64(load16(header, 54))
        let programHeaderCount = UInt64(load16(header, 56))
        let sectionHeaderSize = UInt64(load16(header, 58))
        let sectionHeaderCount = UInt64(load16(header, 60))
        if programHeaderOffset + programHeaderSize * programHeaderCount > size
            || sectionHeaderOffset + sectionHeaderSize * sectionHeaderCount > size
        {
            return "is truncated (\(size) bytes; its headers describe more)"
        }
        var entry = [UInt8](repeating: 0, count: Int(max(programHeaderSize, 56)))
        for index in 0..<programHeaderCount {
            guard readAt(descriptor, &entry, offset: programHeaderOffset + index * programHeaderSize) else {
                return "is truncated"
            }
            let offset = load64(entry, 8)
            let fileSize = load64(entry, 32)
            if load32(entry, 0) == 1 /* PT_LOAD */ && offset + fileSize > size {
                return "is truncated (\(size) bytes; a segment ends at byte \(offset + fileSize))"
            }
        }
        return nil
    }

    private static func readAt(_ descriptor: Int32, _ buffer: inout [UInt8], offset: UInt64) -> Bool {
        let count = buffer.count
        return buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) } == count
    }

    private static func load16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    private static func load32(_ b: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) }
    }
    private static func load64(_ b: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) }
    }
}
