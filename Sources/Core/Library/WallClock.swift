#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall-clock helpers without Foundation: the current time, local-time formatting and random bytes.
public enum WallClock {
    /// Seconds since the epoch, with sub-second precision.
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Broken-down local time for `time`.
    static func localParts(_ time: Double) -> tm {
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        return parts
    }

    static func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `YYYY-MM-DDTHH:MM:SS` in local time.
    public static func isoLocal(_ time: Double) -> String {
        let p = localParts(time)
        return "\(pad(p.tm_year + 1900, 4))-\(pad(p.tm_mon + 1, 2))-\(pad(p.tm_mday, 2))T"
            + "\(pad(p.tm_hour, 2)):\(pad(p.tm_min, 2)):\(pad(p.tm_sec, 2))"
    }

    /// `YYYYMMDD-HHMMSS` in local time.
    public static func compactLocal(_ time: Double) -> String {
        let p = localParts(time)
        return "\(pad(p.tm_year + 1900, 4))\(pad(p.tm_mon + 1, 2))\(pad(p.tm_mday, 2))-"
            + "\(pad(p.tm_hour, 2))\(pad(p.tm_min, 2))\(pad(p.tm_sec, 2))"
    }

    /// `count` random bytes from the kernel.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            while filled < count {
                let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
                if n <= 0 { break }
                filled += n
            }
            close(fd)
        }
        if filled < count {
            var generator = SystemRandomNumberGenerator()
            for i in filled..<count { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        }
        return bytes
    }

    /// `count` random bytes as lower-case hex.
    public static func randomHex(bytes count: Int) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in randomBytes(count) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }
}
