/// The traced-frame stack of one OS thread.
final class ThreadState {
    let ident: UInt
    var stack: [FrameState] = [] {
        didSet { topReference = stack.last.map { Unmanaged.passUnretained($0) } }
    }
    /// `stack.last`, borrowed (the stack keeps it alive).
    private(set) var topReference: Unmanaged<FrameState>?
    /// The exception most recently unwound out of a traced frame on this thread: when it shows up
    /// in the caller it is "propagated", not "raised".
    var unwindingException: UnsafeRawPointer?

    init(ident: UInt) {
        self.ident = ident
        stack.reserveCapacity(64)
    }

    @inline(__always) var top: FrameState? { stack.last }
}
