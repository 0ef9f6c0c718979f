import Glibc
import Synchronization

/// What the tracer keeps about one traced thread. Owned by one worker at a
/// time: only the worker whose thread the tracee is attached to reads or
/// changes its fields, except ``owner`` and ``sharedCredentials``, which
/// any worker may read. A hand-over passes the whole object to the target
/// worker through its mailbox, which orders the source's last writes
/// before the target's first reads.
final class Tracee<Backend: ArchitectureBackend>: @unchecked Sendable {
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
        /// The call was replaced by seccomp(2) to install a permission
        /// filter: put back the program's arguments and give it `result`,
        /// the emulated call's own. `previous` is the thread's level if the
        /// installation fails.
        case finishFilterInstallation(result: SyscallResult, entry: Backend.Registers, previous: PermissionFilter.Level)
        /// execve gave the thread credentials that differ from the real
        /// ones: at its exit stop, make the new program call seccomp(2) to
        /// install the filter of `level` before its first instruction.
        case injectFilterAfterExec(level: PermissionFilter.Level)
        /// The thread is running the seccomp(2) call written at `address`
        /// over `code`: at its exit stop, put back the code and the
        /// registers of the new program's start.
        case finishInjectedFilter(registers: Backend.Registers, code: [UInt8], address: UInt64, previous: PermissionFilter.Level)
    }

    /// The stage of a new thread between its creation and its first resume.
    enum Phase {
        /// The creator's fork, vfork or clone event made this state; the
        /// thread's own first stop has not been reported yet.
        case awaitingFirstStop
        /// The thread's first stop came before its creator's event, which
        /// brings its credentials; the stop's wait status waits here and
        /// the thread stays stopped.
        case awaitingCreatorEvent(firstStop: Int32)
        /// Handed over from another worker, parked in a signal wait with
        /// every signal blocked. Its next stop restores these.
        case arriving(registers: Backend.Registers, signalMask: UInt64)
        /// Attached and running under its owner.
        case running
    }

    let pid: ProcessID
    /// The thread group (process) the thread belongs to: the pid of its
    /// leader.
    var threadGroup: ProcessID
    var credentials: Credentials {
        didSet {
            if credentials != oldValue {
                sharedCredentials.withLock { $0 = credentials }
            }
        }
    }
    var pendingExit: PendingExit?
    /// Whether the thread installed a seccomp filter of its own (inherited
    /// by children and kept across execve, as filters are).
    var hasOwnFilter: Bool
    /// The calls the thread's filters stop beyond the first filter's (see
    /// ``PermissionFilter``): those of the first filter of a command that
    /// started with credentials other than the real ones, or of a filter
    /// added later. Inherited and kept like ``hasOwnFilter``.
    var addedFilter: PermissionFilter.Level
    /// The trace record of a call the kernel is running, completed at its
    /// exit stop. Set only while a trace sink is installed.
    var pendingTrace: PendingTrace?
    var phase: Phase
    /// The index of the worker that owns the tracee. Changed only by the
    /// owner, when it hands the tracee over.
    let owner: Atomic<Int>
    /// A copy of ``credentials`` for other workers (capget(2) of another
    /// thread); nil until the creator's event has given the thread its
    /// credentials.
    let sharedCredentials: Mutex<Credentials?>

    init(pid: ProcessID, threadGroup: ProcessID, credentials: Credentials, hasOwnFilter: Bool = false, addedFilter: PermissionFilter.Level = .none, phase: Phase, owner: Int) {
        self.pid = pid
        self.threadGroup = threadGroup
        self.credentials = credentials
        self.hasOwnFilter = hasOwnFilter
        self.addedFilter = addedFilter
        self.phase = phase
        self.owner = Atomic(owner)
        self.sharedCredentials = Mutex(credentials)
    }

    /// Creates the state of a thread whose first stop came before its
    /// creator's event. Its credentials are unknown until the event, so
    /// other workers see none.
    init(earlyStop status: Int32, pid: ProcessID, owner: Int) {
        self.pid = pid
        self.threadGroup = pid
        self.credentials = .loggedIn(uid: 65534, gid: 65534, groups: [], lastCapability: 0)
        self.hasOwnFilter = false
        self.addedFilter = .none
        self.phase = .awaitingCreatorEvent(firstStop: status)
        self.owner = Atomic(owner)
        self.sharedCredentials = Mutex(nil)
    }

    /// Gives a thread created before its creator's event the creator's
    /// credentials and filter state, and its thread group.
    func adopt(credentials: Credentials, hasOwnFilter: Bool, addedFilter: PermissionFilter.Level, threadGroup: ProcessID) {
        self.threadGroup = threadGroup
        self.hasOwnFilter = hasOwnFilter
        self.addedFilter = addedFilter
        self.credentials = credentials
        sharedCredentials.withLock { $0 = credentials }
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
