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

/// Traces one command and all its descendants with a pool of worker
/// threads (``WorkerPool``), each owning a shard of the tracees.
///
/// Linux ties a tracee to the thread that attached it: every ptrace request
/// for it must come from that thread, and children created by fork, vfork
/// and clone are attached to the same thread. So every stop handler below
/// runs on the worker that owns the tracee and takes that worker as a
/// parameter. The tracer's own fields are shared by all workers: set
/// ``traceSink`` and ``debugObserver`` before ``run(_:onStart:)``, which
/// only reads them, and give it sinks that accept calls from several
/// threads at once.
public final class Tracer<Backend: ArchitectureBackend>: @unchecked Sendable {
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
    /// The programs of ``PermissionFilter`` for this CPU's ABIs, by level.
    let permissionFilters: [PermissionFilter.Level: [shim_bpf_instruction]]
    /// The credentials the kernel holds for every tracee: remainroot's
    /// own, which the command inherits. The calls that pass through the
    /// first filter of a command started with them change none of them.
    let realCredentials: Credentials

    /// Receives a record of each handled call (`remainroot --trace`). While
    /// it is nil, no record is built.
    public var traceSink: (any TraceSink)?
    /// Hooks for `remainroot --debug`; nil when debug mode is off.
    public var debugObserver: (any DebugObserver)?
    /// The number of worker threads ``run(_:onStart:)`` starts.
    public let workerCount: Int

    /// The largest accepted `workerCount`.
    public static var maximumWorkerCount: Int { WorkerPool<Backend>.maximumWorkerCount }

    public init(backend: Backend, handlers: SyscallHandlers, logger: Logger, workerCount: Int = 1) {
        precondition(workerCount >= 1 && workerCount <= Self.maximumWorkerCount, "worker count \(workerCount) outside 1...\(Self.maximumWorkerCount)")
        self.backend = backend
        self.handlers = handlers
        self.logger = logger
        self.workerCount = workerCount
        self.permissionFilters = [
            .credentialCalls: PermissionFilter.instructions(abis: backend.abis, level: .credentialCalls),
            .permissionChecks: PermissionFilter.instructions(abis: backend.abis, level: .permissionChecks),
        ]
        self.realCredentials = UserNamespace.callerCredentials()
    }

    /// Starts the command under the seccomp filter, traces it and its
    /// descendants until the last of them exits, and returns how the
    /// command itself ended. `onStart` receives the command's pid as soon
    /// as it is attached. It runs on worker 0's thread while the caller
    /// waits in this method.
    public func run(_ request: LaunchRequest, onStart: (ProcessID) -> Void) throws(TraceError) -> TraceOutcome {
        let pool = WorkerPool(tracer: self, workerCount: workerCount)
        return try withoutActuallyEscaping(onStart) { (onStart) throws(TraceError) -> TraceOutcome in
            try pool.run(request, onStart: UncheckedCallback(onStart))
        }
    }

    // MARK: - Launch

    /// Forks the child, attaches it with PTRACE_SEIZE before it does
    /// anything, and lets it install the filter and execute the command.
    /// Call on the worker's own thread, which becomes the command's parent
    /// and tracer.
    func launch(_ request: LaunchRequest, in worker: Worker<Backend>) throws(TraceError) -> ProcessID {
        // A command that starts with credentials other than the real ones
        // (--identity) gets the calls of the permission filter it needs in
        // its first filter, and every credential call stops.
        let level = PermissionFilter.Level.needed(by: request.credentials, real: realCredentials)
        let filter: SeccompFilter
        if level != .none {
            let checksPaths = level == .permissionChecks
            filter = SeccompFilter(abis: backend.abis.map { $0.filtered { handlers.answers($0) || (checksPaths && $0.isPathPermissionCall) } },
                                   scope: .differingCredentials(checksPaths: checksPaths))
        } else {
            let scope = FilterScope.matching(realCredentials, userMapping: handlers.userMapping, groupMapping: handlers.groupMapping)
            filter = SeccompFilter(abis: backend.abis.map { $0.filtered(handlers.answers) }, scope: scope)
        }
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
                                        start_write_fd: start.writeEnd,
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
            // The child waits on the start pipe, whose write end stays open
            // here until this method returns, so waiting for it to see EOF
            // would hang. It has run no command yet, so it is killed.
            _ = SystemCalls.kill(pid, signal: SIGKILL)
            close(report.readEnd)
            _ = SystemCalls.waitForAnyChild(options: 0)
            throw TraceError("PTRACE_SEIZE", pid: pid, errno: errno)
        }

        worker.root = Worker.RootCommand(pid: pid, reportFd: report.readEnd)
        worker.adopt(Tracee(pid: pid, threadGroup: pid, credentials: request.credentials, addedFilter: level, phase: .running, owner: worker.index))
        var go: UInt8 = 1
        _ = write(start.writeEnd, &go, 1)
        return pid
    }

    // MARK: - Stops

    /// Handles one waitpid report of a tracee of `worker`.
    func dispatch(_ pid: ProcessID, _ status: Int32, in worker: Worker<Backend>) {
        // The low seven bits are 0 for an exit, 0x7f for a stop, and the
        // killing signal otherwise (WIFEXITED, WIFSIGNALED, WIFSTOPPED).
        let low = status & 0x7f
        if low != 0x7f {
            let exited = worker.forget(pid)
            if pid == worker.root?.pid {
                worker.root?.status = status
            }
            if let exited, !worker.awaitingCreator.isEmpty {
                worker.awaitingCreator[pid] = nil
                releaseChildren(ofExited: exited, in: worker)
            }
            return
        }

        let event = (status >> 16) & 0xff
        guard let tracee = worker.shard[pid] else {
            if event == Self.eventExec {
                // The old leader exited before another thread called
                // execve, and that thread now has the leader's id.
                handleExecOfUnknownLeader(pid, in: worker)
                return
            }
            // A new thread's first stop can arrive before its creator's
            // fork, vfork or clone event. It stays stopped until the event
            // has given it credentials.
            worker.adopt(Tracee(earlyStop: status, pid: pid, owner: worker.index))
            awaitCreator(ofEarlyStopped: pid, in: worker)
            return
        }

        switch tracee.phase {
        case .running:
            break
        case .awaitingFirstStop:
            tracee.phase = .running
            if isFirstStopOfNewChild(status), placeNewProcess(tracee, from: worker) {
                return
            }
        case .awaitingCreatorEvent:
            // The thread stays stopped until it is resumed, so waitpid
            // cannot report it again before the creator's event.
            preconditionFailure("pid \(pid) reported twice before its creator's event, status \(String(status, radix: 16))")
        case .arriving(let registers, let signalMask):
            completeArrival(tracee, registers: registers, signalMask: signalMask)
        }
        handleStop(tracee, status, in: worker)
    }

    /// Handles a stop of an attached tracee whose state is complete.
    private func handleStop(_ tracee: Tracee<Backend>, _ status: Int32, in worker: Worker<Backend>) {
        let pid = tracee.pid
        let signal = (status >> 8) & 0xff
        let event = (status >> 16) & 0xff
        switch event {
        case Self.eventSeccomp:
            handleSeccompStop(tracee, in: worker)
        case Self.eventFork, Self.eventVFork, Self.eventClone:
            handleNewChild(of: tracee, event: event, in: worker)
        case Self.eventExec:
            handleExec(tracee, in: worker)
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
    private func handleNewChild(of parent: Tracee<Backend>, event: Int32, in worker: Worker<Backend>) {
        var message: UInt = 0
        let result = withUnsafeMutablePointer(to: &message) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, parent.pid, data: UInt(bitPattern: $0))
        }
        if case .success = result {
            let child = ProcessID(pid_t(truncatingIfNeeded: message))
            let threadGroup = Self.threadGroup(ofChild: child, createdBy: parent, event: event)
            handlers.ownership?.checkMountNamespace(of: child)

            if let early = worker.shard[child], case .awaitingCreatorEvent(let status) = early.phase {
                worker.awaitingCreator[child] = nil
                early.adopt(credentials: parent.credentials, hasOwnFilter: parent.hasOwnFilter, addedFilter: parent.addedFilter, threadGroup: threadGroup)
                early.phase = .awaitingFirstStop
                dispatch(child, status, in: worker)
            } else {
                worker.adopt(Tracee(pid: child, threadGroup: threadGroup, credentials: parent.credentials, hasOwnFilter: parent.hasOwnFilter,
                                    addedFilter: parent.addedFilter, phase: .awaitingFirstStop, owner: worker.index))
            }
        }
        // A clone whose arguments remainroot rewrote, or whose trace record
        // waits for the result, still owes the parent its syscall-exit stop.
        let exitStopOwed = parent.pendingExit != nil || parent.pendingTrace != nil
        resume(parent.pid, request: exitStopOwed ? SystemCalls.ptraceSyscall : SystemCalls.ptraceContinue)
    }

    /// Notes which process should send the event of a new process whose
    /// first stop came early.
    ///
    /// A creator killed by SIGKILL inside fork never sends the event:
    /// ptrace_stop skips the stop when a fatal signal is pending
    /// (kernel/signal.c). So the parent that /proc names now is kept, and
    /// its exit releases the child with the parent's credentials. A child
    /// whose parent is already gone (reparented, so /proc names a process
    /// remainroot does not trace) has no known credentials, and is killed.
    /// A new thread needs neither: SIGKILL ends its whole thread group.
    private func awaitCreator(ofEarlyStopped pid: ProcessID, in worker: Worker<Backend>) {
        guard let status = ProcessStatus(of: String(pid.rawValue)),
              let threadGroup = status.integer("Tgid"), threadGroup == Int(pid.rawValue),
              let parentValue = status.integer("PPid")
        else { return }
        let parent = pid_t(parentValue)

        // clone(CLONE_PARENT) by the command makes remainroot the parent,
        // and that creator's event still comes.
        if worker.shard[ProcessID(parent)] != nil || parent == getpid() {
            worker.awaitingCreator[pid] = ProcessID(parent)
            return
        }
        logger.logGapOnce("creator-killed-in-fork", pid: pid,
            "a process was killed inside fork, clone or vfork before its tracer saw the new child; the kernel lets such a child run, but its emulated credentials are unknown, so remainroot killed it (SIGKILL)")
        _ = SystemCalls.kill(pid, signal: SIGKILL)
    }

    /// Releases the new processes whose creator event will never come,
    /// because their parent exited first, with the parent's credentials.
    private func releaseChildren(ofExited parent: Tracee<Backend>, in worker: Worker<Backend>) {
        let orphans = worker.awaitingCreator.filter { $0.value == parent.pid }.map(\.key)
        for child in orphans {
            worker.awaitingCreator[child] = nil
            guard let early = worker.shard[child], case .awaitingCreatorEvent(let status) = early.phase else { continue }
            logger.log(.debug, pid: child, "parent \(parent.pid) exited before its fork event; the child gets its credentials")
            early.adopt(credentials: parent.credentials, hasOwnFilter: parent.hasOwnFilter, addedFilter: parent.addedFilter, threadGroup: child)
            early.phase = .awaitingFirstStop
            dispatch(child, status, in: worker)
        }
    }

    /// Returns the thread group of a new thread: its own for fork and
    /// vfork, and for clone its creator's when the two share one. tgkill(2)
    /// with signal 0 finds that out without reading clone's flags.
    private static func threadGroup(ofChild child: ProcessID, createdBy parent: Tracee<Backend>, event: Int32) -> ProcessID {
        guard event == eventClone else { return child }
        return shim_tgkill(parent.threadGroup.rawValue, child.rawValue, 0) == 0 ? parent.threadGroup : child
    }

    /// After execve the thread that called it has the thread-group leader's
    /// id. When it was another thread, the event message holds its former
    /// id: its credentials move to the leader's id, and the old leader's
    /// are dropped, since the kernel reports no exit for it (ptrace(2),
    /// "execve(2) under ptrace").
    private func handleExec(_ tracee: Tracee<Backend>, in worker: Worker<Backend>) {
        var former: UInt = 0
        let result = withUnsafeMutablePointer(to: &former) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, tracee.pid, data: UInt(bitPattern: $0))
        }
        let execing = tracee
        if case .success = result {
            let formerPid = ProcessID(pid_t(truncatingIfNeeded: former))
            // Every thread of a process is on the worker of its first
            // thread, so the execing thread's state is in this shard. The
            // leader's state object stays, with the execing thread's state.
            if formerPid != tracee.pid, let moved = worker.forget(formerPid) {
                execing.credentials = moved.credentials
                execing.hasOwnFilter = moved.hasOwnFilter
                execing.addedFilter = moved.addedFilter
                execing.pendingTrace = nil
            }
        }
        let setIDs = OwnershipStore.setIDs(ofProgramRunBy: execing.pid, store: handlers.ownership)
        let isSecure = execing.credentials.execute(setUserID: setIDs.uid, setGroupID: setIDs.gid,
                                                   noNewPrivileges: OwnershipStore.hasNoNewPrivileges(execing.pid))
        execing.pendingExit = nil
        // The kernel wrote its own credentials and AT_SECURE into the
        // auxiliary vector. They are the emulated ones unless the two
        // differ or the emulated exec is secure where the real one is not.
        if execing.credentials != realCredentials || isSecure {
            rewriteAuxiliaryVector(of: execing, isSecure: isSecure)
        }

        if tracee.pid == worker.root?.pid, let reportFd = worker.root?.reportFd, reportFd >= 0 {
            close(reportFd)
            worker.root?.reportFd = -1
        }

        // A set-user-ID or set-group-ID program made the credentials
        // differ where no call stopped. The execve's exit stop, which
        // comes next, is where the new program can be made to install the
        // permission filter (see ``injectPermissionFilter(into:)``).
        let level = PermissionFilter.Level.needed(by: execing.credentials, real: realCredentials)
        if level > execing.addedFilter {
            execing.pendingExit = .injectFilterAfterExec(level: level)
            resume(tracee.pid, request: SystemCalls.ptraceSyscall)
            return
        }
        resume(tracee.pid)
    }

    /// Handles an execve event for an id this worker no longer tracks: the
    /// thread group's leader exited earlier and its state is gone, and
    /// another thread has taken its id. That thread's state moves to the id.
    private func handleExecOfUnknownLeader(_ pid: ProcessID, in worker: Worker<Backend>) {
        var former: UInt = 0
        let result = withUnsafeMutablePointer(to: &former) {
            SystemCalls.ptrace(SystemCalls.ptraceGetEventMessage, pid, data: UInt(bitPattern: $0))
        }
        guard case .success = result, let moved = worker.forget(ProcessID(pid_t(truncatingIfNeeded: former))) else {
            logger.log(.warning, pid: pid, "execve event for an unknown thread, which keeps running without emulated credentials")
            resume(pid)
            return
        }
        let leader = Tracee<Backend>(pid: pid, threadGroup: pid, credentials: moved.credentials, hasOwnFilter: moved.hasOwnFilter,
                                     addedFilter: moved.addedFilter, phase: .running, owner: worker.index)
        worker.adopt(leader)
        handleExec(leader, in: worker)
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

    private func handleSeccompStop(_ tracee: Tracee<Backend>, in worker: Worker<Backend>) {
        let pid = tracee.pid
        if case .finishInjectedFilter? = tracee.pendingExit {
            // The seccomp(2) call remainroot made the new program run: the
            // kernel installs the filter, and the exit stop puts the
            // program back.
            resume(pid, request: SystemCalls.ptraceSyscall)
            return
        }
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
        let table = worker.table
        let action = handlers.handle(entry, arguments: arguments, credentials: &tracee.credentials, memory: ProcessMemory(pid: pid), pid: pid, statLayout: abi.statLayout) { other in
            table.lookup(other)?.sharedCredentials.withLock { $0 }
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
            if let level = neededPermissionFilter(tracee, after: entry.syscall),
               installPermissionFilter(level, in: tracee, registers: registers, abiIndex: abiIndex, result: result) {
                return
            }
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
            guard writeRegisters(modified, pid, changedFrom: registers) else { return }
            resume(pid)
        case .exit:
            guard writeRegisters(modified, pid) else { return }
            tracee.pendingExit = .writeResult(result)
            resume(pid, request: SystemCalls.ptraceSyscall)
        }
    }

    /// Returns the permission filter the thread needs now that its emulated
    /// call changed its credentials, or nil when its filters already stop
    /// enough. Once the credentials differ from the real ones, the kernel's
    /// results of its reads, and of its permission checks unless only the
    /// groups differ, would be the real credentials', not its own.
    private func neededPermissionFilter(_ tracee: Tracee<Backend>, after syscall: Syscall) -> PermissionFilter.Level? {
        switch syscall {
        case .setuid, .setreuid, .setresuid, .setfsuid, .setgid, .setregid, .setresgid, .setfsgid,
             .setgroups, .capset, .prctl:
            let level = PermissionFilter.Level.needed(by: tracee.credentials, real: realCredentials)
            return level > tracee.addedFilter ? level : nil
        default:
            return nil
        }
    }

    /// Rewrites the stopped call into seccomp(2) that installs the
    /// permission filter, as ``PermissionFilter`` describes; the exit stop
    /// gives the program `result`. Returns false, with the call untouched,
    /// when the program cannot be written into the tracee, so that the
    /// caller answers the call as usual.
    private func installPermissionFilter(_ level: PermissionFilter.Level, in tracee: Tracee<Backend>, registers: Backend.Registers, abiIndex: Int, result: SyscallResult) -> Bool {
        let pid = tracee.pid
        let abi = backend.abis[abiIndex]
        guard let seccompNumber = abi.syscalls.first(where: { $0.value.syscall == .seccomp })?.key else { return false }
        let image = PermissionFilter.memoryImage(permissionFilters[level] ?? [], stackPointer: backend.stackPointer(of: registers),
                                                 redZoneSize: backend.redZoneSize, wordSize: abi.wordSize)
        do {
            try ProcessMemory(pid: pid).write(image.bytes, at: image.address)
        } catch {
            logger.log(.warning, pid: pid, "cannot write the permission filter below the stack pointer (\(error)); opens of this thread are checked with the namespace root's rights")
            return false
        }

        var modified = registers
        do {
            try backend.setSyscallNumber(seccompNumber, in: &modified, registerSets: PtraceRegisterSets(pid: pid))
        } catch {
            logFailure(error)
            return false
        }
        backend.setArgument(0, to: PermissionFilter.setModeFilter, in: &modified)
        backend.setArgument(1, to: 0, in: &modified)
        backend.setArgument(2, to: image.address, in: &modified)
        guard writeRegisters(modified, pid) else { return true }
        tracee.pendingExit = .finishFilterInstallation(result: result, entry: registers, previous: tracee.addedFilter)
        tracee.addedFilter = level
        resume(pid, request: SystemCalls.ptraceSyscall)
        return true
    }

    /// Makes a thread stopped at the exit of execve run seccomp(2) that
    /// installs the permission filter, before the first instruction of its
    /// new program. The call's instruction is written over the code at the
    /// instruction pointer, the filter below the stack pointer, and the
    /// registers are set for the call. The seccomp stop of that call and its
    /// exit stop follow; the exit stop puts the code and the registers
    /// back (`finishInjectedFilter`).
    ///
    /// An execve that makes credentials differ is rare (a set-user-ID or
    /// set-group-ID file), and every execve already stops at its event, so
    /// this costs three stops for such a program and nothing for the
    /// others. Stopping every execve in the first filter and installing the
    /// filter before the exec instead would cost a stop and a path lookup
    /// for every execve a build makes, failed PATH candidates included
    /// (747 in `make -j2 all` of the project `remainroot bench --generate`
    /// writes, measured with strace on Linux 6.18). It would also judge a
    /// path that can name another file by the time the kernel executes it.
    private func injectPermissionFilter(_ level: PermissionFilter.Level, into tracee: Tracee<Backend>, registers: Backend.Registers) {
        let pid = tracee.pid
        guard let abiIndex = backend.abiIndex(of: registers),
              let instruction = backend.syscallInstruction(for: registers),
              let seccompNumber = backend.abis[abiIndex].syscalls.first(where: { $0.value.syscall == .seccomp })?.key
        else {
            logger.logGapOnce("injection-abi", pid: pid,
                "a set-user-ID or set-group-ID program of an ABI remainroot does not shim runs without the permission filter; its credential reads return the real credentials")
            resume(pid)
            return
        }
        let address = backend.instructionPointer(of: registers)
        let image = PermissionFilter.memoryImage(permissionFilters[level] ?? [], stackPointer: backend.stackPointer(of: registers),
                                                 redZoneSize: backend.redZoneSize, wordSize: backend.abis[abiIndex].wordSize)
        let arguments = [PermissionFilter.setModeFilter, 0, image.address]
        guard let injected = backend.injectedSyscallRegisters(registers, number: seccompNumber, arguments: arguments, at: address) else {
            resume(pid)
            return
        }

        let code: [UInt8]
        do {
            code = try ProcessMemory(pid: pid).read(at: address, count: instruction.count)
            try ProcessMemory(pid: pid).write(image.bytes, at: image.address)
        } catch {
            logger.log(.warning, pid: pid, "cannot prepare the permission filter of a set-user-ID program (\(error)); its credential reads return the real credentials")
            resume(pid)
            return
        }
        if case .failure(let errno) = SystemCalls.writeCode(of: pid, at: address, from: instruction) {
            logger.log(.warning, pid: pid, "cannot write a system call instruction at 0x\(String(address, radix: 16)) (\(errno)); the set-user-ID program runs without the permission filter")
            resume(pid)
            return
        }
        guard writeRegisters(injected, pid, whole: true) else { return }
        tracee.pendingExit = .finishInjectedFilter(registers: registers, code: code, address: address, previous: tracee.addedFilter)
        tracee.addedFilter = level
        resume(pid)
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
        case .finishFilterInstallation(let result, let entry, let previous):
            if case .failure(let errno) = backend.result(of: registers) {
                tracee.addedFilter = previous
                logger.logGapOnce("permission-filter", pid: tracee.pid,
                    "the tracee could not install the permission filter (seccomp failed with \(errno)); its opens are checked with the namespace root's rights")
            }
            backend.restoreArguments(from: entry, into: &registers)
            backend.setResult(result, in: &registers)
        case .injectFilterAfterExec(let level):
            injectPermissionFilter(level, into: tracee, registers: registers)
            return
        case .finishInjectedFilter(let start, let code, let address, let previous):
            if case .failure(let errno) = backend.result(of: registers) {
                tracee.addedFilter = previous
                logger.logGapOnce("injected-permission-filter", pid: tracee.pid,
                    "a set-user-ID or set-group-ID program could not install the permission filter (seccomp failed with \(errno)); its credential reads return the real credentials")
            }
            if case .failure(let errno) = SystemCalls.writeCode(of: tracee.pid, at: address, from: code) {
                // The program would run the injected instruction again.
                logger.log(.error, pid: tracee.pid, "cannot put back the code at 0x\(String(address, radix: 16)) (\(errno)); the program is killed")
                _ = SystemCalls.kill(tracee.pid, signal: SIGKILL)
                return
            }
            guard writeRegisters(start, tracee.pid, whole: true) else { return }
            resume(tracee.pid)
            return
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
    func readRegisters(_ pid: ProcessID) -> Backend.Registers? {
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
    /// set; false when the thread vanished. Call only at a syscall stop,
    /// unless `whole` asks for the whole set.
    func writeRegisters(_ registers: Backend.Registers, _ pid: ProcessID, whole: Bool = false) -> Bool {
        var bytes = backend.encodeRegisters(registers)
        let count = whole ? bytes.count : min(bytes.count, backend.syscallRegisterByteCount(of: registers))
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

    /// Writes the registers of a syscall stop that differ from `original`:
    /// with `PTRACE_POKEUSER` when the backend offers it and one or two
    /// words changed, else as ``writeRegisters(_:_:whole:)`` does.
    func writeRegisters(_ registers: Backend.Registers, _ pid: ProcessID, changedFrom original: Backend.Registers) -> Bool {
        guard let words = backend.changedRegisterWords(from: original, to: registers), words.count <= 2 else {
            return writeRegisters(registers, pid)
        }

        for word in words {
            if case .failure(let errno) = SystemCalls.ptrace(SystemCalls.ptracePokeUser, pid, address: word.offset, data: UInt(word.value)) {
                logFailure(TraceError("PTRACE_POKEUSER", pid: pid, errno: errno))
                return false
            }
        }
        return true
    }

    func resume(_ pid: ProcessID, signal: Int32 = 0, request: Int32 = SystemCalls.ptraceContinue) {
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
    func logFailure(_ error: TraceError) {
        if error.errno == .noSuchProcess {
            logger.log(.debug, pid: error.pid, "\(error)")
        } else {
            logger.log(.error, pid: error.pid, "\(error)")
        }
    }
}
