import CShims
import Engine
import Glibc
import Synchronization

/// Passes the signals a user sends to remainroot on to the command.
///
/// A signal from the terminal (Ctrl-C, a hangup) already reaches the whole
/// foreground process group, the command included; passing it on again
/// would deliver it twice. So only signals sent by a process, whose
/// `si_code` is `SI_USER`, `SI_QUEUE` or `SI_TKILL` (zero or negative), are
/// forwarded, with kill(2) to the command's pid.
enum SignalForwarder {
    static let forwarded: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2]

    /// The command's pid, 0 until it is attached.
    private static let target = Atomic<Int32>(0)

    /// Blocks the forwarded signals in the calling thread, which every
    /// thread started afterwards inherits, and returns the mask from before
    /// for the command to start with.
    static func blockForwardedSignals() -> sigset_t {
        var set = forwardedSet()
        var original = sigset_t()
        pthread_sigmask(SIG_BLOCK, &set, &original)
        return original
    }

    static func setTarget(_ pid: ProcessID) {
        target.store(pid.rawValue, ordering: .releasing)
    }

    /// Starts the thread that waits for the blocked signals.
    static func start() {
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { _ in
            _ = shim_set_thread_name("rr-signals")
            SignalForwarder.forwardForever()
        }, nil)
        if result == 0 {
            pthread_detach(thread)
        } else {
            printError("cannot start the signal thread (error \(result)); signals sent to remainroot will not reach the command")
        }
    }

    private static func forwardForever() -> Never {
        var set = forwardedSet()
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&set, &info)
            guard signal > 0 else { continue }
            let pid = target.load(ordering: .acquiring)
            if info.si_code <= 0 && pid > 0 {
                kill(pid, signal)
            }
        }
    }

    private static func forwardedSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in forwarded {
            sigaddset(&set, signal)
        }
        return set
    }
}
