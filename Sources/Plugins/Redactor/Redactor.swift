import TraceSnapPluginKit

/// The redactor (`redactor`): blanks secrets before any byte reaches a sink.
///
/// - Values of arguments and variables whose **name contains** a secret name (case-insensitive;
///   defaults `password, token, secret, authorization, api_key`, plus `options.names`).
/// - Return values of functions whose name contains one (`get_token()`).
/// - Values of secret keys inside any repr (`{'password': ...}`, `User(api_key=...)`), inside
///   exception messages, and string literals bound to secret names in the embedded sources.
final class Redactor: TraceSnapPlugin {
    static let name = "redactor"
    static let version = "1.0.0"
    static let kind: PluginKind = .transform
    static let features = ["names", "repr-keys", "sources"]
    static let events = EventMask([
        TS_EVENT_CALL, TS_EVENT_ASSIGN, TS_EVENT_RETURN, TS_EVENT_YIELD, TS_EVENT_EXCEPTION, TS_EVENT_EXTCALL,
    ])

    private static let placeholder: [UInt8] = Array("<redacted>".utf8)
    private let secrets: SecretNames
    private let scrubber: ReprScrubber
    /// Name strings (variable and function names) live at stable addresses for a session.
    private var nameVerdicts: [UnsafeRawPointer: Bool] = [:]

    /// The latest verdicts by address in a small direct-mapped table: a hit costs no hashing.
    private struct RecentVerdict {
        var address: UnsafeRawPointer?
        var verdict = false
    }
    private static let recentSlots = 64
    private let recentVerdicts: UnsafeMutablePointer<RecentVerdict> = {
        let table = UnsafeMutablePointer<RecentVerdict>.allocate(capacity: Redactor.recentSlots)
        table.initialize(repeating: RecentVerdict(), count: Redactor.recentSlots)
        return table
    }()

    deinit { recentVerdicts.deallocate() }

    /// Whether a name contains a secret, cached by the name's address.
    @inline(__always)
    private func isSecret(_ name: UnsafeRawBufferPointer) -> Bool {
        guard let base = name.baseAddress else { return false }
        let slot = recentVerdicts + (Int(bitPattern: UInt(bitPattern: base) >> 3) & (Redactor.recentSlots - 1))
        if slot.pointee.address == base { return slot.pointee.verdict }
        let verdict = verdict(for: name, at: base)
        slot.pointee = RecentVerdict(address: base, verdict: verdict)
        return verdict
    }

    private func verdict(for name: UnsafeRawBufferPointer, at base: UnsafeRawPointer) -> Bool {
        if let verdict = nameVerdicts[base] { return verdict }
        let verdict = secrets.matches(name)
        nameVerdicts[base] = verdict
        return verdict
    }

    init(options: JSONValue) throws {
        let names = options["names"]?.arrayValue?.compactMap(\.stringValue) ?? []
        secrets = SecretNames(names)
        scrubber = ReprScrubber(secrets: secrets)
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        var updated = session
        if let source = session["source"]?.stringValue, let clean = scrubSource(source) {
            updated = updated.setting("source", to: .string(clean))
        }
        if let sources = session["sources_by_file"]?.objectValue {
            let cleaned = sources.map { (path, text) -> (String, JSONValue) in
                guard let source = text.stringValue, let clean = scrubSource(source) else { return (path, text) }
                return (path, .string(clean))
            }
            updated = updated.setting("sources_by_file", to: .object(cleaned))
        }
        let rules = secrets.names.map { JSONValue.string(String(decoding: $0, as: UTF8.self)) }
        updated = updated.setting("redaction", to: .object([("key_rules", .array(rules))]))
        return updated
    }

    private func scrubSource(_ text: String) -> String? {
        var copy = text
        return copy.withUTF8 { bytes in
            scrubber.scrub(UnsafeRawBufferPointer(bytes), sourceCode: true).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        let e = event.pointer
        if passesUnchanged(event) {
            // The common case (numbers, plain names): nothing to replace, nothing to keep.
            next.emit(event)
            return
        }
        // Storage for replaced reprs; alive until `next.emit` returns.
        var keep: [[UInt8]] = []
        switch event.type {
        case TS_EVENT_CALL:
            guard let args = e.pointee.args, e.pointee.nargs > 0 else { break }
            var copy = Array(UnsafeBufferPointer(start: args, count: Int(e.pointee.nargs)))
            var changed = false
            for index in copy.indices {
                if secrets.matches(copy[index].name.bytes) {
                    redact(&copy[index].value)
                    changed = true
                } else if scrub(&copy[index].value, keep: &keep) {
                    changed = true
                }
            }
            if changed {
                copy.withUnsafeBufferPointer { buffer in
                    e.pointee.args = buffer.baseAddress
                    _ = withExtendedLifetime(keep) { next.emit(event) }
                }
                return
            }
        case TS_EVENT_ASSIGN:
            if isSecret(event.name) {
                redact(&e.pointee.value)
                redact(&e.pointee.prev)
            } else {
                scrub(&e.pointee.value, keep: &keep)
                scrub(&e.pointee.prev, keep: &keep)
            }
        case TS_EVENT_RETURN, TS_EVENT_YIELD:
            if isSecret(event.function) {
                redact(&e.pointee.value)
            } else {
                scrub(&e.pointee.value, keep: &keep)
            }
        case TS_EVENT_EXCEPTION:
            scrub(&e.pointee.value, keep: &keep)
            var message = scrubber.scrub(event.text)
            if let blanked = (message ?? Array(event.text)).withUnsafeBytes({ blankSecretValues(in: $0) }) {
                message = blanked
            }
            if let clean = message {
                keep.append(clean)
                keep[keep.count - 1].withUnsafeBytes { e.pointee.text = ts_str($0) }
            }
        default:
            break
        }
        _ = withExtendedLifetime(keep) { next.emit(event) }
    }

    /// Secret values seen under secret names (their text, without quotes). A value that travels
    /// on under another name (`return token`, `[api_key]`, `f"bad {password}"`) is blanked too.
    private var secretValues: [[UInt8]] = []
    private var secretValueSet = Set<[UInt8]>()

    private func remember(_ value: ts_value) {
        var bytes = Array(value.repr.bytes)
        if bytes.count >= 2, let first = bytes.first, first == bytes.last, first == 0x27 || first == 0x22 {
            bytes = Array(bytes[1..<bytes.count - 1])
        }
        guard bytes.count >= 4, value.flags & UInt32(TS_VALUE_TRUNCATED) == 0, !secretValueSet.contains(bytes) else { return }
        secretValueSet.insert(bytes)
        secretValues.append(bytes)
    }

    /// Replaces every occurrence of a remembered secret value in `text`; nil when none occurs.
    private func blankSecretValues(in text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard !secretValues.isEmpty, !text.isEmpty else { return nil }
        var output: [UInt8]?
        var current = Array(text)
        for secret in secretValues where secret.count <= current.count {
            var result: [UInt8] = []
            var i = 0
            var changed = false
            while i < current.count {
                if i + secret.count <= current.count && current[i] == secret[0]
                    && current[i..<i + secret.count].elementsEqual(secret)
                {
                    result.append(contentsOf: Redactor.placeholder)
                    i += secret.count
                    changed = true
                } else {
                    result.append(current[i])
                    i += 1
                }
            }
            if changed {
                current = result
                output = result
            }
        }
        return output
    }

    private func redact(_ value: inout ts_value) {
        guard value.isPresent else { return }
        if value.flags & UInt32(TS_VALUE_REDACTED) == 0 { remember(value) }
        Redactor.placeholder.withUnsafeBytes { value.repr = ts_str($0) }
        value.flags |= UInt32(TS_VALUE_REDACTED)
        value.flags &= ~UInt32(TS_VALUE_TRUNCATED | TS_VALUE_REPR_FAILED)
    }

    /// Whether `handle` would leave `event` as it is, by a cheap look at its names and reprs (an
    /// assign, call, return or yield; other types take the full path).
    @inline(__always)
    private func passesUnchanged(_ event: EventView) -> Bool {
        let e = event.pointer
        switch event.type {
        case TS_EVENT_ASSIGN:
            return !mayNeedScrub(e.pointee.value) && !mayNeedScrub(e.pointee.prev) && !isSecret(event.name)
        case TS_EVENT_CALL:
            guard let args = e.pointee.args, e.pointee.nargs > 0 else { return true }
            for index in 0..<Int(e.pointee.nargs) {
                if mayNeedScrub(args[index].value) || isSecret(args[index].name.bytes) { return false }
            }
            return true
        case TS_EVENT_RETURN, TS_EVENT_YIELD:
            return !mayNeedScrub(e.pointee.value) && !isSecret(event.function)
        default:
            return false
        }
    }

    /// Whether `scrub` could change `value` (a cheap look at its repr).
    @inline(__always)
    private func mayNeedScrub(_ value: ts_value) -> Bool {
        guard value.isPresent, value.repr.len >= 4 else { return false }
        return !secretValues.isEmpty || (value.repr.len >= 5 && ReprScrubber.mayHoldKeys(value.repr.bytes))
    }

    /// Scrubs secret keys inside a value's repr; returns whether it changed.
    @discardableResult
    private func scrub(_ value: inout ts_value, keep: inout [[UInt8]]) -> Bool {
        guard value.isPresent, value.repr.len >= 4 else { return false }
        var clean: [UInt8]?
        if value.repr.len >= 5, ReprScrubber.mayHoldKeys(value.repr.bytes) { clean = scrubber.scrub(value.repr.bytes) }
        if !secretValues.isEmpty {
            let current = clean ?? Array(value.repr.bytes)
            if let blanked = current.withUnsafeBytes({ blankSecretValues(in: $0) }) { clean = blanked }
        }
        guard let clean else { return false }
        keep.append(clean)
        keep[keep.count - 1].withUnsafeBytes { value.repr = ts_str($0) }
        value.flags |= UInt32(TS_VALUE_REDACTED)
        return true
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(Redactor.self, host: host, descriptor: descriptor, error: error)
}
