/// The names whose values are secrets: a name is secret when it contains any of them, ignoring
/// case (`password`, `db_password`, `API_KEY`, `auth_token` ...).
struct SecretNames {
    /// The built-in names; `--redact` / `redact_names=` add to these, never replace them.
    static let defaults = ["password", "token", "secret", "authorization", "api_key"]

    let names: [[UInt8]]

    init(_ names: [String]) {
        var all = Set(SecretNames.defaults)
        for name in names where !name.isEmpty { all.insert(name.lowercased()) }
        self.names = all.sorted().map { Array($0.utf8) }
    }

    /// Whether `candidate` (UTF-8) contains a secret name, ignoring ASCII case.
    func matches(_ candidate: UnsafeRawBufferPointer) -> Bool {
        guard !candidate.isEmpty else { return false }
        for name in names where name.count <= candidate.count {
            let last = candidate.count - name.count
            var start = 0
            while start <= last {
                var equal = true
                for (offset, byte) in name.enumerated() {
                    var c = candidate[start + offset]
                    if c >= 0x41 && c <= 0x5A { c += 0x20 }
                    if c != byte {
                        equal = false
                        break
                    }
                }
                if equal { return true }
                start += 1
            }
        }
        return false
    }

    func matches(_ candidate: [UInt8]) -> Bool {
        candidate.withUnsafeBytes { matches($0) }
    }
}
