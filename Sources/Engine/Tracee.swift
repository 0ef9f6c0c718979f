import Glibc

/// What the tracer keeps about one traced thread. Owned by one worker:
/// only the worker that attached the thread may read or change it.
final class Tracee<Backend: ArchitectureBackend> {
    /// What must happen at the thread's next syscall-exit stop.
    enum PendingExit {
        /// Put the program's own arguments back after the kernel ran the
        /// call with rewritten ones.
        case restoreArguments(entry: Backend.Registers)
        /// Write the result of a cancelled call, on CPUs where the kernel
        /// overwrites it after the entry stop.
        case writeResult(SyscallResult)
        /// Look at the kernel's result, and put back the program's own
        /// arguments when they were rewritten.
        case finish(ExitTask, entry: Backend.Registers?)
    }

    let pid: ProcessID
    var credentials: Credentials
    var pendingExit: PendingExit?
    /// Whether the thread installed a seccomp filter of its own (inherited
    /// by children and kept across execve, as filters are).
    var hasOwnFilter: Bool
    /// The trace record of a call the kernel is running, completed at its
    /// exit stop. Set only while a trace sink is installed.
    var pendingTrace: PendingTrace?

    init(pid: ProcessID, credentials: Credentials, hasOwnFilter: Bool = false) {
        self.pid = pid
        self.credentials = credentials
        self.hasOwnFilter = hasOwnFilter
    }
}

/// The engine's ``TraceeMemory``: process_vm_readv(2) and
/// process_vm_writev(2) on a stopped thread.
struct ProcessMemory: TraceeMemory {
    let pid: ProcessID

    func read(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBytes { SystemCalls.readMemory(of: pid, at: address, into: $0) }
        try result.get()
        return bytes
    }

    func write(_ bytes: [UInt8], at address: UInt64) throws(Errno) {
        try bytes.withUnsafeBytes { SystemCalls.writeMemory(of: pid, at: address, from: $0) }.get()
    }
}

/// Register sets other than the general ones, written with
/// `PTRACE_SETREGSET`.
struct PtraceRegisterSets: RegisterSetAccess {
    let pid: ProcessID

    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let result = withUnsafeMutablePointer(to: &vector) {
            SystemCalls.ptrace(SystemCalls.ptraceSetRegisterSet, pid, address: UInt(type), data: UInt(bitPattern: $0))
        }
        if case .failure(let errno) = result {
            throw TraceError("PTRACE_SETREGSET \(type)", pid: pid, errno: errno)
        }
    }
}
