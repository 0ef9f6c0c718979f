import CShims
import Glibc

/// The end of the traced command: its wait status, or why it never started.
public struct TraceOutcome: Sendable {
    /// The command's wait status, as waitpid(2) returned it.
    public let waitStatus: Int32
    /// Set when the command never started.
    public let launchFailure: LaunchFailure?

    /// The status a shell would report: the exit code, or 128+N for a
    /// command killed by signal N.
    public var shellStatus: Int32 {
        let signal = waitStatus & 0x7f
        return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal
    }
}

/// Traces one command and all its descendants on the calling thread.
///
/// Linux ties a tracee to the thread that attached it: every ptrace request
/// for it must come from that thread, and children created by fork, vfork
/// and clone are attached to the same thread. So ``run(_:onStart:)`` must be
/// called on the thread that is to own the tracees, and it returns only
/// when the last of them is gone.
public final class Tracer<Backend: ArchitectureBackend> {
    // Options and events from <linux/ptrace.h>.
    static var options: UInt {
        let traceSysGood: UInt = 0x1, traceFork: UInt = 0x2, traceVFork: UInt = 0x4
        let traceClone: UInt = 0x8, traceExec: UInt = 0x10, traceSeccomp: UInt = 0x80
        let exitKill: UInt = 0x10_0000
        return traceSysGood | traceFork | traceVFork | traceClone | traceExec | traceSeccomp | exitKill
    }
    static var eventFork: Int32 { 1 }
    static var eventVFork: Int32 { 2 }
    static var eventClone: Int32 { 3 }
    static var eventExec: Int32 { 4 }
    static var eventSeccomp: Int32 { 7 }
    static var eventStop: Int32 { 128 }
    /// `__WALL | __WNOTHREAD`: every kind of child, but only this thread's.
    static var waitOptions: Int32 { 0x4000_0000 | 0x2000_0000 }

    let backend: Backend
    let handlers: SyscallHandlers
    let logger: Logger

    /// Receives a record of each handled call (`remainroot --trace`). While
    /// it is nil, no record is built.
    public var traceSink: (any TraceSink)?
    /// Hooks for `remainroot --debug`; nil when debug mode is off.
    public var debugObserver: (any DebugObserver)?

    /// The tracees this worker owns, by thread id.
    private var tracees: [ProcessID: Tracee<Backend>] = [:]
    /// Stops of new threads that arrived before their parent's fork, vfork
    /// or clone event: the thread stays stopped until its state exists.
    private var earlyStops: [ProcessID: Int32] = [:]
    private var rootPid = ProcessID(0)
    private var rootStatus: Int32?
    private var reportFd: Int32 = -1
    private var launchFailure: LaunchFailure?

    public init(backend: Backend, handlers: SyscallHandlers, logger: Logger) {
        self.backend = backend
        self.handlers = handlers
        self.logger = logger
    }

    /// Starts the command under the seccomp filter, traces it and its
    /// descendants until the last of them exits, and returns how the
    /// command itself ended. `onStart` receives the command's pid as soon
    /// as it is attached.
    public func run(_ request: LaunchRequest, onStart: (ProcessID) -> Void) throws(TraceError) -> TraceOutcome {
        let pid = try launch(request)
        onStart(pid)

        while true {
            switch SystemCalls.waitForAnyChild(options: Self.waitOptions) {
            case .success(let (pid, status)):
                dispatch(pid, status)
            case .failure(.noChildProcesses):
                return finish()
            case .failure(let errno):
                throw TraceError("waitpid", pid: ProcessID(-1), errno: errno)
            }
        }
    }

    private func finish() -> TraceOutcome {
        if reportFd >= 0 {
            launchFailure = launchFailure ?? readLaunchReport(from: reportFd)
            close(reportFd)
            reportFd = -1
        }
        return TraceOutcome(waitStatus: rootStatus ?? (125 << 8), launchFailure: launchFailure)
    }

    // MARK: - Launch

    /// Forks the child, attaches it with PTRACE_SEIZE before it does
    /// anything, and lets it install the filter and execute the command.
    private func launch(_ request: LaunchRequest) throws(TraceError) -> ProcessID {
        let filter = SeccompFilter(abis: backend.abis.map { $0.filtered(handlers.answers) })
        let path = request.environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        let candidates = CStringArray(executableCandidates(for: request.arguments[0], path: path))
        let argv = CStringArray(request.arguments)
        let shellArgv = CStringArray(["/bin/sh"] + request.arguments.dropFirst(), spareSlots: 1)
        let envp = CStringArray(request.environment)
        var mask = request.signalMask

        let start: Pipe
        let report: Pipe
        do {
            start = try Pipe.make().get()
            report = try Pipe.make().get()
        } catch {
            throw TraceError("pipe2", pid: ProcessID(getpid()), errno: error)
        }

        let spawned: pid_t = filter.instructions.withUnsafeBufferPointer { filterBuffer in
            candidates.pointers.withUnsafeBufferPointer { candidatePointers in
                argv.pointers.withUnsafeBufferPointer { argvPointers in
                    shellArgv.pointers.withUnsafeMutableBufferPointer { shellPointers in
                        envp.pointers.withUnsafeBufferPointer { envpPointers in
                            withUnsafePointer(to: &mask) { maskPointer in
                                candidatePointers.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: candidatePointers.count) { candidateBase in
                                    var spawnRequest = shim_spawn_request(
                                        candidates: candidateBase,
                                        argv: argvPointers.baseAddress,
                                        shell_argv: shellPointers.baseAddress,
                                        envp: envpPointers.baseAddress,
                                        filter: filterBuffer.baseAddress,
                                        filter_length: UInt16(filterBuffer.count),
                                        start_fd: start.readEnd,
                                        report_fd: report.writeEnd,
                                        signal_mask: maskPointer
                                    )
                                    return shim_spawn_traced(&spawnRequest)
                                }
                            }
                        }
                    }
                }
            }
        }
        close(start.readEnd)
        close(report.writeEnd)
        defer { close(start.writeEnd) }
        guard spawned > 0 else {
            close(report.readEnd)
            throw TraceError("fork", pid: ProcessID(getpid()), errno: Errno(-spawned))
        }

        let pid = ProcessID(spawned)
        if case .failure(let errno) = SystemCalls.ptrace(SystemCalls.ptraceSeize, pid, data: Self.options) {
            // Closing the start pipe unread makes the child exit with 125.
            close(report.readEnd)
            _ = SystemCalls.waitForAnyChild(options: 0)
            throw TraceError("PTRACE_SEIZE", pid: pid, errno: errno)
        }

        rootPid = pid
        reportFd = report.readEnd
        tracees[pid] = Tracee(pid: pid, credentials: request.credentials)
        var go: UInt8 = 1
        _ = write(start.writeEnd, &go, 1)
        return pid
    }

    // MARK: - Stops

    private func dispatch(_ pid: ProcessID, _ status: Int32) {
        // The low seven bits are 0 for an exit, 0x7f for a stop, and the
        // killing signal otherwise (WIFEXITED, WIFSTOPPED, WIFSIGNALED).
        let low = status & 0x7f
        if low != 0x7f {
            tracees[pid] = nil
            earlyStops[pid] = nil
            if pid == rootPid {
                rootStatus = status
            }
            return
        }

        guard let tracee = tracees[pid] else {
            // A new thread's first stop can arrive before its parent's fork
            // event; it waits, stopped, until the event has created its
            // state.
            earlyStops[pid] = status
            return
        }

        let signal = (status >> 8) & 0xff
        let event = (status >> 16) & 0xff
        switch event {
        case Self.eventSeccomp:
            handleSeccompStop(tracee)
        case Self.eventFork, Self.eventVFork, Self.eventClone:
            handleNewChild(of: tracee)
        case Self.eventExec:
            handleExec(tracee)
        case Self.eventStop:
            handleEventStop(tracee, signal: signal)
        case 0 where signal == SIGTRAP | 0x80:
            handleSyscallExit(tracee)
        default:
            // A signal-delivery stop: the signal goes to the program.
            debugObserver?.signalDeliveryStop(of: pid, signal: signal)
            resume(pid, signal: signal)
        }
    }

    /// `PTRACE_EVENT_STOP` comes for three reasons: a group-stop (job
    /// control: the signal is SIGSTOP, SIGTSTP, SIGTTIN or SIGTTOU), the
    /// first stop of a new child (SIGTRAP), and PTRACE_INTERRUPT. A
    /// group-stop is left in place with PTRACE_LISTEN, so the process stays
    /// stopped, its parent sees the stop, and SIGCONT resumes it, as
    /// without a tracer (ptrace(2), "Group-stop").
    private func handleEventStop(_ tracee: Tracee<Backend>, signal: Int32) {
        switch signal {
        case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU:
            request(SystemCalls.ptraceListen, tracee.pid)
        default:
            resume(tracee.pid)
        }
    }

    /// The parent's fork, vfork or clone event names the new thread, which
    /// starts with a copy of its creator's credentials: the kernel's
    /// copy_creds for processes and threads alike.
    private func handleNewChild(of parent: Tracee<Backend>) {
        var message: UInt = 0
        let result = withUnsafeMutablePointer(to: &message) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, parent.pid, data: UInt(bitPattern: $0))
        }
        if case .success = result {
            let child = ProcessID(pid_t(truncatingIfNeeded: message))
            tracees[child] = Tracee(pid: child, credentials: parent.credentials, hasOwnFilter: parent.hasOwnFilter)
            handlers.ownership?.checkMountNamespace(of: child)
            if let status = earlyStops.removeValue(forKey: child) {
                dispatch(child, status)
            }
        }
        // A clone whose arguments remainroot rewrote, or whose trace record
        // waits for the result, still owes the parent its syscall-exit stop.
        let exitStopOwed = parent.pendingExit != nil || parent.pendingTrace != nil
        resume(parent.pid, request: exitStopOwed ? SystemCalls.ptraceSyscall : SystemCalls.ptraceContinue)
    }

    /// After execve the thread that called it has the thread-group leader's
    /// id. When it was another thread, the event message holds its former
    /// id: its credentials move to the leader's id, and the old leader's
    /// are dropped, since the kernel reports no exit for it (ptrace(2),
    /// "execve(2) under ptrace").
    private func handleExec(_ tracee: Tracee<Backend>) {
        var former: UInt = 0
        let result = withUnsafeMutablePointer(to: &former) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, tracee.pid, data: UInt(bitPattern: $0))
        }
        var execing = tracee
        if case .success = result {
            let formerPid = ProcessID(pid_t(truncatingIfNeeded: former))
            if formerPid != tracee.pid, let moved = tracees.removeValue(forKey: formerPid) {
                execing = Tracee(pid: tracee.pid, credentials: moved.credentials, hasOwnFilter: moved.hasOwnFilter)
                tracees[tracee.pid] = execing
            }
        }
        let setIDs = OwnershipStore.setIDs(ofProgramRunBy: execing.pid, store: handlers.ownership)
        let isSecure = execing.credentials.execute(setUserID: setIDs.uid, setGroupID: setIDs.gid,
                                                   noNewPrivileges: OwnershipStore.hasNoNewPrivileges(execing.pid))
        execing.pendingExit = nil
        rewriteAuxiliaryVector(of: execing, isSecure: isSecure)

        if tracee.pid == rootPid && reportFd >= 0 {
            close(reportFd)
            reportFd = -1
        }
        resume(tracee.pid)
    }

    private func rewriteAuxiliaryVector(of tracee: Tracee<Backend>, isSecure: Bool) {
        guard let registers = readRegisters(tracee.pid) else { return }
        let wordSize = backend.abiIndex(of: registers).map { backend.abis[$0].wordSize } ?? 8
        do {
            try AuxiliaryVector.rewrite(memory: ProcessMemory(pid: tracee.pid), stackPointer: backend.stackPointer(of: registers),
                                        wordSize: wordSize, credentials: tracee.credentials, isSecure: isSecure)
        } catch {
            logger.log(.warning, pid: tracee.pid, "cannot rewrite the auxiliary vector of the new program: \(error)")
        }
    }

    // MARK: - System calls

    private func handleSeccompStop(_ tracee: Tracee<Backend>) {
        let pid = tracee.pid
        guard let registers = readRegisters(pid) else { return }

        let number = backend.syscallNumber(of: registers)
        if tracee.hasOwnFilter && !isOurStop(pid) {
            // The program's own filter asked for a tracer. Without
            // remainroot it would have none, and the kernel fails such a
            // call with ENOSYS (seccomp(2), SECCOMP_RET_TRACE).
            answer(.failure(.functionNotImplemented), to: tracee, registers: registers)
            return
        }
        guard let abiIndex = backend.abiIndex(of: registers),
              let entry = backend.abis[abiIndex].syscalls[number]
        else {
            logger.log(.debug, pid: pid, "seccomp stop for unlisted syscall \(number), passed to the kernel")
            resume(pid)
            return
        }
        if entry.syscall == .seccomp || (entry.syscall == .prctl && UInt32(truncatingIfNeeded: backend.argument(0, of: registers)) == PrctlOption.setSeccomp) {
            tracee.hasOwnFilter = true
        }
        debugObserver?.willHandleSyscall(entry, number: number, of: pid)
        defer { debugObserver?.didHandleSyscall(of: pid) }

        let arguments = (0..<6).map { backend.argument($0, of: registers) }
        let abi = backend.abis[abiIndex]
        let action = handlers.handle(entry, arguments: arguments, credentials: &tracee.credentials, memory: ProcessMemory(pid: pid), pid: pid, statLayout: abi.statLayout) { other in
            self.tracees[other]?.credentials
        }
        logger.log(.debug, pid: pid, "\(entry.syscall.rawValue)(\(arguments.map { String($0, radix: 16) }.joined(separator: ", "))) -> \(action)")
        if let traceSink {
            traceHandledCall(tracee, entry, arguments: arguments, action: action, sink: traceSink)
        }

        switch action {
        case .passThrough:
            // A traced call stops again at its exit, for the kernel's result.
            resume(pid, request: tracee.pendingTrace == nil ? SystemCalls.ptraceContinue : SystemCalls.ptraceSyscall)

        case .answer(let result):
            answer(result, to: tracee, registers: registers)

        case .rewriteArguments(let replaced):
            guard rewriteArguments(replaced, in: registers, pid) else { return }
            tracee.pendingExit = .restoreArguments(entry: registers)
            resume(pid, request: SystemCalls.ptraceSyscall)

        case .inspectResult(let task):
            tracee.pendingExit = .finish(task, entry: nil)
            resume(pid, request: SystemCalls.ptraceSyscall)

        case .rewriteArgumentsThenInspect(let replaced, let task):
            guard rewriteArguments(replaced, in: registers, pid) else { return }
            tracee.pendingExit = .finish(task, entry: registers)
            resume(pid, request: SystemCalls.ptraceSyscall)
        }
    }

    /// Skips the call and gives the program `result`.
    private func answer(_ result: SyscallResult, to tracee: Tracee<Backend>, registers: Backend.Registers) {
        let pid = tracee.pid
        var modified = registers
        do {
            try backend.cancelSyscall(in: &modified, registerSets: PtraceRegisterSets(pid: pid))
        } catch {
            logFailure(error)
            return
        }
        switch backend.cancelledResultStop {
        case .entry:
            backend.setResult(result, in: &modified)
            guard writeRegisters(modified, pid) else { return }
            resume(pid)
        case .exit:
            guard writeRegisters(modified, pid) else { return }
            tracee.pendingExit = .writeResult(result)
            resume(pid, request: SystemCalls.ptraceSyscall)
        }
    }

    /// Whether remainroot's filter made this seccomp stop: its mark is in
    /// the event message (SECCOMP_RET_DATA).
    private func isOurStop(_ pid: ProcessID) -> Bool {
        var message: UInt = 0
        let result = withUnsafeMutablePointer(to: &message) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, pid, data: UInt(bitPattern: $0))
        }
        guard case .success = result else { return true }
        return UInt16(truncatingIfNeeded: message) == SeccompFilter.traceMark
    }

    private func rewriteArguments(_ replaced: [Int: UInt64], in registers: Backend.Registers, _ pid: ProcessID) -> Bool {
        var modified = registers
        for (index, value) in replaced {
            backend.setArgument(index, to: value, in: &modified)
        }
        return writeRegisters(modified, pid)
    }

    private func handleSyscallExit(_ tracee: Tracee<Backend>) {
        if let trace = tracee.pendingTrace, let traceSink, let registers = readRegisters(tracee.pid) {
            tracee.pendingTrace = nil
            traceKernelResult(trace, of: tracee.pid, result: backend.result(of: registers), sink: traceSink)
        }
        guard let pending = tracee.pendingExit else {
            resume(tracee.pid)
            return
        }
        tracee.pendingExit = nil
        guard var registers = readRegisters(tracee.pid) else { return }

        switch pending {
        case .restoreArguments(let entry):
            backend.restoreArguments(from: entry, into: &registers)
        case .writeResult(let result):
            backend.setResult(result, in: &registers)
        case .finish(let task, let entry):
            if let entry {
                backend.restoreArguments(from: entry, into: &registers)
            }
            let result = backend.result(of: registers)
            if let replacement = handlers.finish(task, result: result, credentials: tracee.credentials, memory: ProcessMemory(pid: tracee.pid), pid: tracee.pid) {
                backend.setResult(replacement, in: &registers)
            } else if entry == nil {
                resume(tracee.pid)
                return
            }
        }
        guard writeRegisters(registers, tracee.pid) else { return }
        resume(tracee.pid)
    }

    // MARK: - ptrace requests

    /// Reads the general registers, or nil when the thread vanished.
    private func readRegisters(_ pid: ProcessID) -> Backend.Registers? {
        withUnsafeTemporaryAllocation(byteCount: backend.registerSetSize, alignment: 16) { raw -> Backend.Registers? in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
            let result = withUnsafeMutablePointer(to: &vector) {
                SystemCalls.ptrace(SystemCalls.ptraceGetRegisterSet, pid, address: UInt(SystemCalls.registerSetGeneral), data: UInt(bitPattern: $0))
            }
            if case .failure(let errno) = result {
                logFailure(TraceError("PTRACE_GETREGSET", pid: pid, errno: errno))
                return nil
            }
            let filled = UnsafeRawBufferPointer(rebasing: raw[0..<min(vector.iov_len, raw.count)])
            guard let registers = backend.decodeRegisters(filled) else {
                preconditionFailure("\(backend.machineName) backend cannot decode the \(vector.iov_len)-byte register set of \(pid): \(Array(filled))")
            }
            return registers
        }
    }

    /// Writes the registers a syscall stop changes, which lead the register
    /// set; false when the thread vanished. Call only at a syscall stop.
    private func writeRegisters(_ registers: Backend.Registers, _ pid: ProcessID) -> Bool {
        var bytes = backend.encodeRegisters(registers)
        let count = min(bytes.count, backend.syscallRegisterByteCount(of: registers))
        return bytes.withUnsafeMutableBytes { raw in
            var vector = iovec(iov_base: raw.baseAddress, iov_len: count)
            let result = withUnsafeMutablePointer(to: &vector) {
                SystemCalls.ptrace(SystemCalls.ptraceSetRegisterSet, pid, address: UInt(SystemCalls.registerSetGeneral), data: UInt(bitPattern: $0))
            }
            if case .failure(let errno) = result {
                logFailure(TraceError("PTRACE_SETREGSET", pid: pid, errno: errno))
                return false
            }
            return true
        }
    }

    private func resume(_ pid: ProcessID, signal: Int32 = 0, request: Int32 = SystemCalls.ptraceContinue) {
        if case .failure(let errno) = SystemCalls.ptrace(request, pid, data: UInt(signal)) {
            logFailure(TraceError(request == SystemCalls.ptraceContinue ? "PTRACE_CONT" : "PTRACE_SYSCALL", pid: pid, errno: errno))
        }
    }

    private func request(_ request: Int32, _ pid: ProcessID) {
        if case .failure(let errno) = SystemCalls.ptrace(request, pid) {
            logFailure(TraceError("ptrace request \(request)", pid: pid, errno: errno))
        }
    }

    /// A thread that vanished mid-request (killed by SIGKILL, or its whole
    /// group by execve or exit_group) is normal: ESRCH is quiet and its exit
    /// arrives through waitpid. Anything else is logged.
    private func logFailure(_ error: TraceError) {
        if error.errno == .noSuchProcess {
            logger.log(.debug, pid: error.pid, "\(error)")
        } else {
            logger.log(.error, pid: error.pid, "\(error)")
        }
    }
}
