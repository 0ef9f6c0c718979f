#if DEBUG_SUPPORT
import CDebugSupport
import Engine
import Glibc

/// `remainroot --debug`: crash reports for remainroot's own threads, and the
/// stack of a traced program that a core-dumping signal is about to kill.
final class DebugMonitor: DebugObserver {
    private let output: DiagnosticOutput
    /// Each call's name as a C string that lives as long as the process,
    /// because the crash handler may print it at any time.
    private let syscallNames: [SyscallEntry: UnsafeMutablePointer<CChar>]
    private let fault: FaultInjection.Request?

    /// Installs the crash handlers, which report to standard error and, when
    /// it is another file, to `output`. Call while remainroot has one
    /// thread: it forks the demangler process.
    init(output: DiagnosticOutput) throws(UsageError) {
        self.output = output
        var names: [SyscallEntry: UnsafeMutablePointer<CChar>] = [:]
        for syscall in Syscall.allCases {
            for width in [IDWidth.bits32, .bits16] {
                let entry = SyscallEntry(syscall, idWidth: width)
                names[entry] = strdup(TraceFormatter.callName(entry))
            }
        }
        syscallNames = names
        fault = try FaultInjection.request(from: getenv(FaultInjection.environmentVariable).map { String(cString: $0) })

        let fds = output.fd == DiagnosticOutput.standardError.fd ? [output.fd] : [DiagnosticOutput.standardError.fd, output.fd]
        let result = debug_install_crash_handlers(fds, Int32(fds.count))
        if result < 0 {
            throw UsageError(message: "cannot install the --debug crash handlers: \(String(cString: strerror(-result)))")
        }
    }

    /// Names the command, which a crash report kills first.
    func commandStarted(_ pid: ProcessID) {
        debug_set_command(pid.rawValue)
    }

    func willHandleSyscall(_ entry: SyscallEntry, number: Int64, of pid: ProcessID) {
        debug_note_syscall(pid.rawValue, syscallNames[entry], number)
        if let fault, fault.syscall == nil || fault.syscall == entry.syscall {
            FaultInjection.trigger(fault.kind)
        }
    }

    func didHandleSyscall(of pid: ProcessID) {
        debug_note_syscall_done()
    }

    func signalDeliveryStop(of pid: ProcessID, signal: Int32) {
        guard TraceeStackReport.isFatal(signal, to: pid) else { return }
        output.write(TraceeStackReport.report(pid: pid, signal: signal))
    }
}

/// The stack of a traced thread at the signal-delivery stop of a signal that
/// will kill it, in the style of `strace -k`.
enum TraceeStackReport {
    /// The signals whose default action terminates the process with a core
    /// dump (signal(7), "Core").
    static let coreDumpingSignals: Set<Int32> = [
        SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS,
    ]

    /// The deepest stack a report shows.
    static let maximumFrames = 64

    /// Whether `signal` will kill `pid` with a core dump: it is a
    /// core-dumping signal that the program neither catches nor ignores.
    /// The kernel resets a blocked or ignored synchronous fault (SIGSEGV
    /// from a bad access) to the default action before it is delivered
    /// (force_sig_info_to_task in kernel/signal.c), so such faults count
    /// too. A traced thread stops even for an ignored signal, which the
    /// kernel then drops.
    static func isFatal(_ signal: Int32, to pid: ProcessID) -> Bool {
        guard coreDumpingSignals.contains(signal),
              let status = readSmallFile("/proc/\(pid)/status")
        else {
            return false
        }
        let bit = UInt64(1) << UInt64(signal - 1)
        for line in status.split(separator: "\n") where line.hasPrefix("SigCgt:") || line.hasPrefix("SigIgn:") {
            let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? 0
            if mask & bit != 0 {
                return false
            }
        }
        return true
    }

    /// Builds the report: a header line, then one line per frame.
    static func report(pid: ProcessID, signal: Int32) -> String {
        let command = readSmallFile("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init) ?? "?"
        var text = "remainroot: pid \(pid) (\(command)) received \(describe(signal, of: pid)), which it does not handle"

        var frames = [debug_frame](repeating: debug_frame(), count: maximumFrames)
        let count = debug_unwind_tracee(pid.rawValue, &frames, Int32(maximumFrames))
        guard count > 0 else {
            return text + "; cannot unwind its stack: \(String(cString: debug_unwind_error(count)))\n"
        }
        text += "; its stack, innermost frame first:\n"
        for index in 0..<Int(count) {
            text += format(&frames[index]) + "\n"
        }
        if count == maximumFrames {
            text += " > ... (the report stops after \(maximumFrames) frames)\n"
        }
        return text
    }

    /// Formats a frame as strace -k prints it: `> FILE(SYMBOL+0xOFFSET) [0xFILE_OFFSET]`.
    private static func format(_ frame: inout debug_frame) -> String {
        let name = withUnsafeBytes(of: &frame.name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let object = withUnsafeBytes(of: &frame.object) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }

        var symbol = ""
        if !name.isEmpty {
            symbol = demangle(name) + "+0x" + String(frame.offset, radix: 16)
        }
        if object.isEmpty {
            return " > unknown object(\(symbol)) [0x\(String(frame.address, radix: 16))]"
        }
        return " > \(object)(\(symbol)) [0x\(String(frame.object_offset, radix: 16))]"
    }

    private static func demangle(_ name: String) -> String {
        guard let demangled = debug_demangle(name) else { return name }
        defer { free(demangled) }
        return String(cString: demangled)
    }

    /// Describes the signal with its si_code and, for a fault, the address,
    /// or for a signal sent by a process, the sender.
    private static func describe(_ signal: Int32, of pid: ProcessID) -> String {
        let name = debug_signal_name(signal).map { "SIG" + String(cString: $0) } ?? "signal \(signal)"
        var info = debug_signal_info()
        guard debug_tracee_signal_info(pid.rawValue, &info) == 0 else { return name }

        var details: [String] = []
        if let code = debug_signal_code_name(signal, info.code) {
            details.append(String(cString: code))
        } else {
            details.append("si_code \(info.code)")
        }
        if [SIGSEGV, SIGBUS, SIGILL, SIGFPE].contains(signal) {
            details.append("at address 0x" + String(info.address, radix: 16))
        }
        if info.sender > 0 {
            details.append("sent by pid \(info.sender)")
        }
        return "\(name) (\(details.joined(separator: ", ")))"
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
#endif
