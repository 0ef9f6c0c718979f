import CShims
import Glibc
import Synchronization

/// One tracer thread of a ``WorkerPool`` and the shard of tracees attached
/// to it.
///
/// Every field is read and written only on the worker's own thread, with
/// two exceptions. Other workers read `load` to place new processes. The
/// thread in ``WorkerPool/run(_:onStart:)`` sets `launch` before the worker's
/// thread starts, and reads `root` and `launchError` after joining it.
final class Worker<Backend: ArchitectureBackend>: @unchecked Sendable {
    /// The command worker 0 traces from the start, and how it ended.
    struct RootCommand {
        var pid: ProcessID
        /// The command's wait status, once waitpid reported its end.
        var status: Int32?
        /// The read end of the launch report pipe, -1 once closed.
        var reportFd: Int32
        var launchFailure: LaunchFailure?
    }

    let index: Int
    unowned let pool: WorkerPool<Backend>

    /// The tracees attached to this thread, by thread id.
    var shard: [ProcessID: Tracee<Backend>] = [:]
    /// New processes whose first stop came before their creator's event,
    /// with the thread group of the parent that /proc named at that stop.
    var awaitingCreator: [ProcessID: ProcessID] = [:]
    /// The size of the shard plus the tracees in transit to this worker.
    let load = Atomic<Int>(0)
    private(set) var reader: PIDTable<Tracee<Backend>>.Reader!

    /// Worker 0's command, launched when its thread starts.
    var launch: (request: LaunchRequest, onStart: UncheckedCallback)?
    var root: RootCommand?
    var launchError: TraceError?

    init(index: Int, pool: WorkerPool<Backend>) {
        self.index = index
        self.pool = pool
    }

    var tracer: Tracer<Backend> { pool.tracer }
    var table: PIDTable<Tracee<Backend>> { pool.table }

    /// Runs the worker's thread: launches the command on worker 0, then
    /// handles the stops of its tracees until the pool drains.
    func run() {
        _ = shim_set_thread_name("rr-worker-\(index)")
        shim_pool_enter_worker(pool.shared, Int32(index))
        reader = table.makeReader(index)
        reader.comeOnline()

        if let launch {
            self.launch = nil
            do {
                let pid = try tracer.launch(launch.request, in: self)
                pool.setState(.running)
                launch.onStart.call(pid)
            } catch {
                launchError = error
            }
        }

        while true {
            reader.goOffline()
            let result = SystemCalls.waitForAnyChild(options: Tracer<Backend>.waitOptions)
            reader.comeOnline()

            switch result {
            case .success(let (pid, status)):
                takeSeizedTracees()
                tracer.dispatch(pid, status, in: self)
            case .failure(.noChildProcesses):
                // The signal handler may have seized a tracee after waitpid
                // returned. Once taken, such a tracee is no longer in the
                // list that shim_pool_wait_for_work looks at, so it must
                // not sleep.
                if takeSeizedTracees() > 0 {
                    continue
                }
                reader.goOffline()
                let hasWork = shim_pool_wait_for_work(pool.shared, Int32(index)) != 0
                reader.comeOnline()
                if !hasWork {
                    return
                }
            case .failure(let errno):
                preconditionFailure("waitpid failed on worker \(index): \(errno)")
            }
        }
    }

    /// Adds a new tracee to the shard and the PID table.
    func adopt(_ tracee: Tracee<Backend>) {
        shard[tracee.pid] = tracee
        table.insert(tracee, for: tracee.pid, by: reader)
        load.add(1, ordering: .relaxed)
    }

    /// Removes a tracee that exited or left, and returns its state.
    @discardableResult
    func forget(_ pid: ProcessID) -> Tracee<Backend>? {
        guard let tracee = shard.removeValue(forKey: pid) else { return nil }
        table.remove(pid, ifCurrent: tracee, by: reader)
        load.subtract(1, ordering: .relaxed)
        return tracee
    }

    /// Moves the tracees this thread's signal handler seized into the
    /// shard, and returns how many it attached. Their first stop restores
    /// what the hand-over changed.
    @discardableResult
    private func takeSeizedTracees() -> Int {
        var attached = 0
        var next = shim_pool_take_seized(pool.shared, Int32(index))
        while let node = next {
            next = node.pointee.next
            let tracee = Unmanaged<Tracee<Backend>>.fromOpaque(node.pointee.context).takeRetainedValue()
            let seizeError = node.pointee.seize_error
            free(node)

            if seizeError == 0 {
                shard[tracee.pid] = tracee
                attached += 1
            } else {
                // Only SIGKILL can end a parked thread, so it died while no
                // worker traced it; its parent reaps it.
                table.remove(tracee.pid, ifCurrent: tracee, by: reader)
                load.subtract(1, ordering: .relaxed)
                tracer.logger.log(.debug, pid: tracee.pid, "vanished during a hand-over: PTRACE_SEIZE failed with \(Errno(seizeError))")
            }
        }
        return attached
    }

    /// Returns how the command ended. Call after the worker's thread was
    /// joined.
    func outcome() throws(TraceError) -> TraceOutcome {
        if let launchError {
            throw launchError
        }
        guard var root else {
            return TraceOutcome(waitStatus: 125 << 8, launchFailure: nil)
        }
        if root.reportFd >= 0 {
            root.launchFailure = root.launchFailure ?? readLaunchReport(from: root.reportFd)
            close(root.reportFd)
            root.reportFd = -1
        }
        return TraceOutcome(waitStatus: root.status ?? (125 << 8), launchFailure: root.launchFailure)
    }
}
