/// The names whose values are secrets: a name is secret when it contains any of them, ignoring
/// case (`password`, `db_password`, `API_KEY`, `auth_token` ...).
struct SecretNames {
    /// The built-in names; `--redact` / `redact_names=` add to these, never replace them.
    static let defaults = ["password", "token", "secret", "authorization", "api_key"]

    let names: [[UInt8]]
    /// One bit per pair of bytes (lower-cased) that starts some name of two or more bytes: a
    /// candidate position whose pair has no bit cannot start a match, so most positions of a long
    /// repr cost one table look-up instead of a compare per name.
    private let startPairs: [UInt64]
    /// Some name is a single byte (then every position must be compared).
    private let hasSingleByteName: Bool

    init(_ names: [String]) {
        var all = Set(SecretNames.defaults)
        for name in names where !name.isEmpty { all.insert(name.lowercased()) }
        self.names = all.sorted().map { Array($0.utf8) }
        var pairs = [UInt64](repeating: 0, count: 65536 / 64)
        var single = false
        for name in self.names {
            if name.count < 2 {
                single = true
                continue
            }
            let key = Int(name[0]) << 8 | Int(name[1])
            pairs[key >> 6] |= 1 << UInt64(key & 63)
        }
        startPairs = pairs
        hasSingleByteName = single
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }

    /// Whether `candidate` (UTF-8) contains a secret name, ignoring ASCII case.
    func matches(_ candidate: UnsafeRawBufferPointer) -> Bool {
        guard !candidate.isEmpty else { return false }
        if hasSingleByteName { return (0..<candidate.count).contains { matches(candidate, at: $0) } }
        guard candidate.count >= 2 else { return false }
        return startPairs.withUnsafeBufferPointer { pairs in
            var previous = SecretNames.lower(candidate[0])
            for index in 1..<candidate.count {
                let byte = SecretNames.lower(candidate[index])
                let key = Int(previous) << 8 | Int(byte)
                if pairs[key >> 6] & (1 << UInt64(key & 63)) != 0 && matches(candidate, at: index - 1) { return true }
                previous = byte
            }
            return false
        }
    }

    /// Whether some name starts at `start` in `candidate`, ignoring ASCII case.
    private func matches(_ candidate: UnsafeRawBufferPointer, at start: Int) -> Bool {
        for name in names where name.count <= candidate.count - start {
            var equal = true
            for (offset, byte) in name.enumerated() where SecretNames.lower(candidate[start + offset]) != byte {
                equal = false
                break
            }
            if equal { return true }
        }
        return false
    }

    func matches(_ candidate: [UInt8]) -> Bool {
        candidate.withUnsafeBytes { matches($0) }
    }
}
