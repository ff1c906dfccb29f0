import Glibc

/// The monotonic clock used for event timestamps (`ts`, nanoseconds since the session started).
public enum MonotonicClock {
    @inline(__always) public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec)
    }
}
