import CShims
import Glibc

// Handing a new process to another worker.
//
// Linux ties a tracee to the thread that attached it, and a fork, vfork or
// clone child is attached to its creator's tracer thread. Without help,
// every process of a build would stay on the worker that launched the
// command. So at the first stop of a new process, before it has run one
// instruction of its own, its worker may hand it to a less loaded one:
//
// 1. The source reads the child's registers and signal mask, blocks every
//    signal with PTRACE_SETSIGMASK, and rewrites the registers so that the
//    child, once resumed, enters pause(2) (``ArchitectureBackend/
//    parkedRegisters(_:)``). pause is not trapped by the seccomp filter, so
//    it runs untraced without harm, and with every signal blocked only
//    SIGKILL, a stop signal or PTRACE_INTERRUPT ends it. A stop signal
//    parks it in a group-stop instead, and SIGCONT restarts the pause,
//    because no handler runs.
// 2. The source detaches the child (PTRACE_DETACH) and posts its pid and
//    saved state to the target's mailbox, then sends the target's thread
//    SIGURG (pool.c).
// 3. The target's signal handler, on the target's thread, attaches with
//    PTRACE_SEIZE and the same options, and stops the child with
//    PTRACE_INTERRUPT wherever it is: in the pause, on its way into it, or
//    in a group-stop.
// 4. At that first stop the target writes back the original registers and
//    signal mask and handles the stop as any other. The original result
//    register contains fork's 0, not a restart code, so the kernel does not
//    restart the pause; the child returns from fork as if nothing happened.
//
// Between the detach and the seize the child executes nothing but the
// pause, so no system call of the program ever runs untraced: a trapped
// call made without a tracer would fail with ENOSYS.
//
// Rejected alternatives:
// - Stopping the child with SIGSTOP while it is detached: its parent would
//   see the stop (waitpid with WUNTRACED, SIGCHLD) and a continue.
// - rt_sigsuspend with a full mask written below the stack pointer: it
//   needs a writable stack and a write into the program's memory, where
//   PTRACE_SETSIGMASK needs neither.
// - Detaching without parking: the child would run its own code untraced
//   until the target attached.
// - Handing over at any later stop: a thread stopped inside a blocking call
//   or holding pending signals makes the restart rules harder to undo, and
//   a new process is where placement matters.
// - A thread of an existing process is never moved: exec from a non-leader
//   thread hands the leader's id to the execing thread, and the state of
//   both must be on one worker.
//
// PTRACE_O_EXITKILL kills attached tracees when remainroot dies, but not a
// child between its detach and its seize. So the child is listed in the
// page of the guardian (pool.c), a small process that kills every listed
// pid when remainroot ends, from before the detach until the seize. Without
// a guardian there is no hand-over.
extension Tracer {
    /// Returns whether `status` is the first stop of an auto-attached new
    /// thread, a `PTRACE_EVENT_STOP` with SIGTRAP.
    func isFirstStopOfNewChild(_ status: Int32) -> Bool {
        (status >> 16) & 0xff == Self.eventStop && (status >> 8) & 0xff == SIGTRAP
    }

    /// Hands a new process at its first stop to a less loaded worker, and
    /// returns whether it did. When it returns false the tracee is still
    /// `worker`'s, stopped, with its registers and mask untouched.
    func placeNewProcess(_ tracee: Tracee<Backend>, from worker: Worker<Backend>) -> Bool {
        let pid = tracee.pid
        let pool = worker.pool
        guard tracee.threadGroup == pid,
              !tracee.hasOwnFilter,
              pool.parking != .never,
              let target = pool.placementTarget(from: worker),
              let registers = readRegisters(pid),
              pool.parking == .anyABI || backend.abiIndex(of: registers) == 0,
              let parked = backend.parkedRegisters(registers),
              let signalMask = signalMask(of: pid)
        else {
            return false
        }

        let shared = pool.shared
        let context = Unmanaged.passRetained(tracee).toOpaque()
        guard let node = shim_handover_create(shared, pid.rawValue, context) else {
            Unmanaged<Tracee<Backend>>.fromOpaque(context).release()
            return false
        }
        func abandon() -> Bool {
            shim_handover_cancel(shared, node)
            Unmanaged<Tracee<Backend>>.fromOpaque(context).release()
            return false
        }

        guard setSignalMask(of: pid, to: .max) else { return abandon() }
        guard writeRegisters(parked, pid, whole: true) else {
            _ = setSignalMask(of: pid, to: signalMask)
            return abandon()
        }
        tracee.phase = .arriving(registers: registers, signalMask: signalMask)
        tracee.owner.store(target.index, ordering: .releasing)

        if case .failure(let errno) = SystemCalls.ptrace(SystemCalls.ptraceDetach, pid) {
            // Still attached: it died (ESRCH), and its exit comes here.
            logFailure(TraceError("PTRACE_DETACH", pid: pid, errno: errno))
            tracee.phase = .running
            tracee.owner.store(worker.index, ordering: .releasing)
            _ = writeRegisters(registers, pid, whole: true)
            _ = setSignalMask(of: pid, to: signalMask)
            return abandon()
        }

        worker.shard[pid] = nil
        worker.load.subtract(1, ordering: .relaxed)
        target.load.add(1, ordering: .relaxed)
        let posted = shim_pool_hand_over(shared, Int32(target.index), node)
        if posted < 0 {
            logger.log(.error, pid: pid, "cannot wake worker \(target.index) for a hand-over: \(Errno(-posted)); the process waits for its next wake-up")
        }
        logger.log(.debug, pid: pid, "new process handed from worker \(worker.index) to worker \(target.index)")
        return true
    }

    /// Undoes the parking at the first stop on the target worker. The stop
    /// itself is then handled as usual: a PTRACE_INTERRUPT stop is resumed,
    /// a group-stop is kept with PTRACE_LISTEN.
    func completeArrival(_ tracee: Tracee<Backend>, registers: Backend.Registers, signalMask: UInt64) {
        tracee.phase = .running
        // The whole set: the thread may have stopped before its pause, with
        // its program counter still on the system-call instruction, and
        // entering the pause may have changed more registers (x86_64's
        // syscall instruction overwrites rcx and r11).
        _ = writeRegisters(registers, tracee.pid, whole: true)
        _ = setSignalMask(of: tracee.pid, to: signalMask)
    }

    /// Returns the number of seccomp filters of a process (`self` for
    /// remainroot), or nil when the kernel does not report it (before
    /// Linux 5.9).
    static func seccompFilterCount(of process: String) -> Int? {
        ProcessStatus(of: process)?.integer("Seccomp_filters")
    }

    /// Returns the thread's blocked-signal mask, or nil when it vanished.
    private func signalMask(of pid: ProcessID) -> UInt64? {
        var mask: UInt64 = 0
        let result = withUnsafeMutablePointer(to: &mask) {
            SystemCalls.ptrace(SystemCalls.ptraceGetSignalMask, pid, address: UInt(MemoryLayout<UInt64>.size), data: UInt(bitPattern: $0))
        }
        if case .failure(let errno) = result {
            logFailure(TraceError("PTRACE_GETSIGMASK", pid: pid, errno: errno))
            return nil
        }
        return mask
    }

    /// Sets the thread's blocked-signal mask; the kernel leaves SIGKILL and
    /// SIGSTOP out. False when the thread vanished.
    private func setSignalMask(of pid: ProcessID, to mask: UInt64) -> Bool {
        var value = mask
        let result = withUnsafeMutablePointer(to: &value) {
            SystemCalls.ptrace(SystemCalls.ptraceSetSignalMask, pid, address: UInt(MemoryLayout<UInt64>.size), data: UInt(bitPattern: $0))
        }
        if case .failure(let errno) = result {
            logFailure(TraceError("PTRACE_SETSIGMASK", pid: pid, errno: errno))
            return false
        }
        return true
    }
}
