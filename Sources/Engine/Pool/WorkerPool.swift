import CShims
import Glibc
import Synchronization

/// The lifecycle of a ``WorkerPool``.
public enum PoolState: Int32, Sendable {
    /// Threads are starting and worker 0 is launching the command.
    case starting
    /// The command is attached; workers trace it and its descendants.
    case running
    /// No tracee is left anywhere and none is in transit, so none can
    /// appear: the workers leave their loops.
    case draining
    /// Every worker thread has been joined.
    case stopped
}

/// Tracer threads that each own a shard of the tracees.
///
/// Linux ties a tracee to the thread that attached it: every ptrace request
/// for it must come from that thread, and its children are attached to the
/// same thread. So each worker waits only for its own tracees
/// (`__WALL | __WNOTHREAD`) and handles their stops, and a new process is
/// placed on a less loaded worker by handing it over at its first stop
/// (HandOver.swift). Worker 0 launches the command, which is its real child
/// too, and keeps it.
///
/// Ownership of the fields:
/// - `workers`, `table`, `tracer`, `shared`: set in init, then read-only.
/// - The lifecycle state and the activity count live in `shared` (C atomics,
///   pool.c), because the wake-up signal handler updates them. Worker 0
///   moves the state from starting to running, the worker whose wait leaves
///   no activity moves it to draining, and the thread in ``run(_:onStart:)``
///   moves it to stopped after joining every worker.
/// - `launchError` is written by worker 0 and read after the joins.
/// - `parking` is set in ``run(_:onStart:)`` before any worker starts.
final class WorkerPool<Backend: ArchitectureBackend>: @unchecked Sendable {
    /// The largest accepted `--workers`, which keeps thread names within
    /// Linux's 15 bytes.
    static var maximumWorkerCount: Int { 1024 }

    let tracer: Tracer<Backend>
    let table: PIDTable<Tracee<Backend>>
    private(set) var workers: [Worker<Backend>] = []
    let shared: OpaquePointer

    /// The rule for which new processes may be parked in pause(2) to be
    /// handed over.
    enum Parking: Equatable {
        /// None: there is no guardian, or pause(2) is not allowed.
        case never
        /// Those of the CPU's native ABI, the ABI the probe tried.
        case nativeABIOnly
        /// Any: no seccomp filter but remainroot's applies to the command.
        case anyABI
    }
    private(set) var parking = Parking.never

    init(tracer: Tracer<Backend>, workerCount: Int) {
        precondition(workerCount >= 1 && workerCount <= Self.maximumWorkerCount, "worker count \(workerCount) outside 1...\(Self.maximumWorkerCount)")
        guard let shared = shim_pool_create(Int32(workerCount), Tracer<Backend>.options) else {
            fatalError("out of memory creating the state of \(workerCount) workers")
        }
        self.tracer = tracer
        self.shared = shared
        self.table = PIDTable(readerCount: workerCount)
        workers = (0..<workerCount).map { Worker(index: $0, pool: self) }
    }

    deinit {
        shim_pool_destroy(shared)
    }

    var state: PoolState {
        PoolState(rawValue: shim_pool_state(shared)) ?? .stopped
    }

    func setState(_ state: PoolState) {
        shim_pool_set_state(shared, state.rawValue)
    }

    /// Starts every worker, lets worker 0 launch the command, and returns
    /// when every worker has been joined, which happens once the last
    /// tracee is gone.
    func run(_ request: LaunchRequest, onStart: UncheckedCallback) throws(TraceError) -> TraceOutcome {
        let launcher = workers[0]
        launcher.launch = (request, onStart)
        defer { launcher.launch = nil }

        if workers.count > 1 {
            parking = choosePlacement()
        }

        // Worker 0 starts last, so that the command is launched only when
        // every worker it may hand a child to is running.
        var threads: [(index: Int, thread: pthread_t)] = []
        var startFailure: Int32 = 0
        for worker in workers.reversed() {
            switch Self.startThread(for: worker) {
            case .success(let thread):
                threads.append((worker.index, thread))
            case .failure(let errno):
                startFailure = errno.rawValue
            }
            if startFailure != 0 {
                break
            }
        }

        if startFailure != 0 {
            // The workers that started are idle or about to be; the ones
            // that did not count as busy until retired here.
            let started = Set(threads.map(\.index))
            for worker in workers where !started.contains(worker.index) {
                shim_pool_retire_unstarted_worker(shared, Int32(worker.index))
            }
        }

        var joined = 0
        for (_, thread) in threads {
            if pthread_join(thread, nil) == 0 {
                joined += 1
            }
        }
        precondition(joined == threads.count, "joined \(joined) of \(threads.count) worker threads")
        precondition(startFailure != 0 || joined == workers.count, "started \(joined) of \(workers.count) workers")
        precondition(state == .draining, "workers left their loops in state \(state)")
        shim_pool_stop_guardian(shared)
        setState(.stopped)

        if startFailure != 0 {
            throw TraceError("pthread_create", pid: ProcessID(getpid()), errno: Errno(startFailure))
        }
        return try launcher.outcome()
    }

    /// Starts the thread that runs `worker`; the thread's own reference
    /// keeps the worker alive until it returns. The closure is made here,
    /// where `Backend` is known after specialization, so the thread runs
    /// the specialized loop and not the generic one, which costs about
    /// 1 µs more per stop.
    private static func startThread(for worker: Worker<Backend>) -> Result<pthread_t, Errno> {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ThreadStart { worker.run() }).toOpaque()
        let result = pthread_create(&thread, nil, runThreadStart, context)
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            return .failure(Errno(result))
        }
        return .success(thread)
    }

    // MARK: - Placement

    /// Starts the guardian and decides which processes may be parked.
    ///
    /// Seccomp filters that applied to remainroot before it started (a
    /// container runtime's profile) apply to the command too, and one that
    /// forbids pause(2) would make the parked child's fork return an error
    /// in the child. So with such filters a child process tries pause
    /// first, under the same filters, and only the ABI it tried is parked.
    private func choosePlacement() -> Parking {
        let started = shim_pool_start_guardian(shared)
        if started < 0 {
            tracer.logger.log(.warning, "cannot start the guardian process (\(Errno(-started))); every process stays on the worker of its parent")
            return .never
        }
        guard let outerFilters = Tracer<Backend>.seccompFilterCount(of: "self") else {
            tracer.logger.log(.info, "the kernel does not report seccomp filters; every process stays on the worker of its parent")
            return .never
        }
        if outerFilters == 0 {
            return .anyABI
        }
        let probe = shim_probe_pause()
        if probe == 1 {
            return .nativeABIOnly
        }
        tracer.logger.log(.info, "pause(2) is not allowed under the seccomp filters remainroot runs under (probe result \(probe)); every process stays on the worker of its parent")
        return .never
    }

    /// The worker a new process should move to from `source`, or nil when
    /// moving it would not narrow the gap between the two. Load is the
    /// count of owned tracees, which every worker publishes; a count of
    /// threads is cheap and needs no clock.
    /// TODO: weigh tracees by their recent stops; a make process waiting
    /// for its jobs counts as much as a compiler.
    func placementTarget(from source: Worker<Backend>) -> Worker<Backend>? {
        guard workers.count > 1 else { return nil }
        let sourceLoad = source.load.load(ordering: .relaxed)
        var best: Worker<Backend>?
        var bestLoad = Int.max
        for worker in workers where worker !== source {
            let load = worker.load.load(ordering: .relaxed)
            if load < bestLoad {
                best = worker
                bestLoad = load
            }
        }
        // The source's load includes the new process.
        guard let best, bestLoad + 1 < sourceLoad else { return nil }
        return best
    }
}

/// Runs a thread whose `context` is a retained ``ThreadStart``. A generic
/// type cannot provide a C function pointer, so the thread's work comes
/// as a closure.
private func runThreadStart(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
    start.body()
    return nil
}

/// The work of a new thread.
final class ThreadStart {
    let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
    }
}

/// The caller's start callback, called once on worker 0's thread while the
/// caller waits in ``Tracer/run(_:onStart:)``, so it never runs alongside
/// the caller's own code.
struct UncheckedCallback: @unchecked Sendable {
    let call: (ProcessID) -> Void

    init(_ call: @escaping (ProcessID) -> Void) {
        self.call = call
    }
}
