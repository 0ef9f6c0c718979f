#if DEBUG_SUPPORT
import Engine

/// A way for tests to make remainroot itself fault, to check the crash
/// report of `--debug`. `REMAINROOT_INJECT_FAULT=KIND[:SYSCALL]` makes the
/// tracer fault while it handles the first trapped call (the first SYSCALL,
/// when given). KIND is `segfault` (a write through an invalid pointer) or
/// `stack-overflow` (endless recursion).
///
/// The variable is read only with `--debug`, and only in debug builds or in
/// a release build compiled with `-Xswiftc -DREMAINROOT_FAULT_INJECTION`;
/// any other build ignores it.
enum FaultInjection {
    static let environmentVariable = "REMAINROOT_INJECT_FAULT"

    enum Kind: String {
        case segfault
        case stackOverflow = "stack-overflow"
    }

    struct Request {
        let kind: Kind
        /// The call whose handling faults; nil for the first call.
        let syscall: Syscall?
    }

    /// Parses the variable's value, or returns nil when it is unset or this
    /// build ignores it.
    static func request(from value: String?) throws(UsageError) -> Request? {
        #if DEBUG || REMAINROOT_FAULT_INJECTION
        guard let value, !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard let kind = Kind(rawValue: parts[0]) else {
            throw UsageError(message: "invalid \(environmentVariable) '\(value)': expected segfault or stack-overflow, optionally followed by :SYSCALL")
        }
        guard parts.count == 2 else { return Request(kind: kind, syscall: nil) }
        guard let syscall = Syscall(rawValue: parts[1]) else {
            throw UsageError(message: "invalid \(environmentVariable) '\(value)': '\(parts[1])' is not a call remainroot handles; see remainroot syscalls")
        }
        return Request(kind: kind, syscall: syscall)
        #else
        return nil
        #endif
    }

    static func trigger(_ kind: Kind) {
        switch kind {
        case .segfault:
            writeThroughInvalidPointer()
        case .stackOverflow:
            _ = recurseWithoutEnd(depth: 0)
        }
    }

    /// Writes to address 0x8, which is never mapped (the kernel keeps the
    /// lowest pages unmappable, vm.mmap_min_addr).
    @inline(never)
    static func writeThroughInvalidPointer() {
        let pointer = UnsafeMutablePointer<Int>(bitPattern: 0x8)!
        pointer.pointee = 1
    }

    /// Recurses with 1 KiB of stack per call until the thread's stack
    /// overflows. The addition after the call keeps the compiler from
    /// turning the recursion into a loop.
    @inline(never)
    static func recurseWithoutEnd(depth: Int) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer in
            buffer.initialize(repeating: UInt8(truncatingIfNeeded: depth))
            return recurseWithoutEnd(depth: depth + 1) &+ Int(buffer[depth % 1024])
        }
    }
}
#endif
