import Engine
import Glibc
import Synchronization

/// The cost of one benchmark run, as its parent measured it.
struct BenchRunResult {
    /// Seconds from fork to the end of wait4.
    let wall: Double
    /// User plus system seconds of the run's whole process tree, from
    /// wait4's rusage. A traced run includes remainroot's own time.
    let cpu: Double
    /// The run's standard output.
    let output: String
}

/// Starts the runs of `remainroot bench` and waits for them.
///
/// bench itself stays single-threaded, so a forked child may allocate and
/// call Swift code before it executes the command: no other thread can
/// hold a lock the child would need.
enum BenchProcess {
    /// The signal that interrupted a wait: SIGALRM for a timed-out run,
    /// SIGINT, SIGTERM or SIGHUP when the user asked bench to stop; 0 for
    /// none yet.
    static let caughtSignal = Atomic<Int32>(0)
    static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Catches the stop signals and SIGALRM without SA_RESTART, so that
    /// they interrupt wait4 with EINTR and bench can kill the run and
    /// remove its temporary folder.
    static func installSignalHandlers() {
        for signal in stopSignals + [SIGALRM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                BenchProcess.caughtSignal.store(number, ordering: .relaxed)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }

    /// The stop signal the user sent, if any.
    static var stopRequest: Int32? {
        let signal = caughtSignal.load(ordering: .relaxed)
        return stopSignals.contains(signal) ? signal : nil
    }

    /// Runs `arguments` (argv[0] found in PATH) in `directory`, with
    /// standard output and error in `logPrefix.out` and `.err`, and
    /// waits for it. With `newNamespace` the child first enters a new user
    /// namespace that maps the caller to root, as `remainroot --unshare`
    /// does. A run that exits with a non-zero status, is killed, or
    /// outlives `timeout` seconds throws, with the end of its error output.
    static func run(_ arguments: [String], newNamespace: Bool, directory: String, logPrefix: String, timeout: UInt32) throws(BenchError) -> BenchRunResult {
        let outputPath = logPrefix + ".out"
        let errorPath = logPrefix + ".err"
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }

        var startTime = timespec()
        clock_gettime(CLOCK_MONOTONIC, &startTime)
        let pid = fork()
        if pid == 0 {
            startChild(argv: argv, newNamespace: newNamespace, directory: directory, outputPath: outputPath, errorPath: errorPath)
        }
        guard pid > 0 else { throw BenchError(message: "fork failed: \(BenchFiles.lastError())") }

        let (status, usage) = try waitForChild(pid, timeout: timeout, command: arguments)
        var endTime = timespec()
        clock_gettime(CLOCK_MONOTONIC, &endTime)

        if status != 0 {
            let errors = BenchFiles.read(errorPath) ?? ""
            let tail = errors.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
            throw BenchError(message: "\(arguments.joined(separator: " ")) \(describe(status))\(tail.isEmpty ? "" : "; its error output ends with:\n" + tail)")
        }
        return BenchRunResult(
            wall: seconds(endTime) - seconds(startTime),
            cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            output: BenchFiles.read(outputPath) ?? ""
        )
    }

    private static func startChild(argv: [UnsafeMutablePointer<CChar>?], newNamespace: Bool, directory: String, outputPath: String, errorPath: String) -> Never {
        let input = open("/dev/null", O_RDONLY)
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let error = open(errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard input >= 0, output >= 0, error >= 0 else { _exit(125) }
        dup2(input, 0)
        dup2(output, 1)
        dup2(error, 2)

        guard chdir(directory) == 0 else {
            childFailure("cannot enter \(directory): \(BenchFiles.lastError())")
        }
        if newNamespace, case .failure(let error) = UserNamespace.enterNew() {
            childFailure("cannot create a user namespace: \(error)")
        }
        execvp(argv[0]!, argv)
        childFailure("cannot run \(String(cString: argv[0]!)): \(BenchFiles.lastError())")
    }

    private static func childFailure(_ message: String) -> Never {
        let line = Array("remainroot bench: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        _exit(125)
    }

    private static func waitForChild(_ pid: pid_t, timeout: UInt32, command: [String]) throws(BenchError) -> (Int32, rusage) {
        var status: Int32 = 0
        var usage = rusage()
        caughtSignal.store(0, ordering: .relaxed)
        alarm(timeout)
        defer { alarm(0) }

        while wait4(pid, &status, 0, &usage) != pid {
            guard errno == EINTR else {
                throw BenchError(message: "wait4 failed: \(BenchFiles.lastError())")
            }
            let signal = caughtSignal.load(ordering: .relaxed)
            guard signal != 0 else { continue }

            kill(pid, SIGKILL)
            _ = wait4(pid, &status, 0, &usage)
            if signal == SIGALRM {
                throw BenchError(message: "\(command.joined(separator: " ")) did not finish within \(timeout) s and was killed")
            }
            throw BenchError(message: "stopped by signal \(signal)")
        }
        return (status, usage)
    }

    private static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(signal)"
    }

    private static func seconds(_ time: timespec) -> Double {
        Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func seconds(_ time: timeval) -> Double {
        Double(time.tv_sec) + Double(time.tv_usec) / 1e6
    }
}
