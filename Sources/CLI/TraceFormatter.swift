import Engine
import Glibc

/// The destination of what `--trace` and `--debug` print: standard error,
/// or the file of `--log-file`.
struct DiagnosticOutput: Sendable {
    let fd: Int32

    static let standardError = DiagnosticOutput(fd: 2)

    /// Creates `path` or opens it as it is. ``startOver()`` empties it once
    /// the run is sure to start, so a refused run leaves an old log whole.
    /// O_APPEND makes each write(2) land whole at the end, so lines from
    /// several threads never mix.
    static func open(_ path: String) throws(UsageError) -> DiagnosticOutput {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw UsageError(message: "cannot open log file '\(path)': \(String(cString: strerror(errno)))")
        }
        return DiagnosticOutput(fd: fd)
    }

    /// Empties a log file before the run writes to it; nothing for
    /// standard error.
    func startOver() {
        if fd != 2 {
            _ = ftruncate(fd, 0)
        }
    }

    /// Writes `text` with one write(2) where the kernel allows it.
    func write(_ text: String) {
        writeAll(fd, text)
    }
}

/// `--trace`: writes one line per record, in strace's style.
final class TraceWriter: TraceSink {
    private let output: DiagnosticOutput

    init(output: DiagnosticOutput) {
        self.output = output
    }

    func record(_ record: TraceRecord) {
        output.write(TraceFormatter.line(for: record) + "\n")
    }
}

/// Formats trace records as strace does: `[pid N] name(arguments) = result`,
/// followed by who produced the result.
enum TraceFormatter {
    /// `AT_FDCWD` from <fcntl.h>.
    static let currentDirectory: Int32 = -100

    static func line(for record: TraceRecord) -> String {
        let name = callName(record.entry)
        let arguments = record.arguments.map(format).joined(separator: ", ")
        let result = format(record.result)

        var origin: String
        switch record.disposition {
        case .faked:
            origin = "faked"
        case .passedToKernel(let replaced, let followUp):
            origin = "passed to the kernel"
            if !replaced.isEmpty {
                var passed = record.arguments
                for (index, argument) in replaced where index < passed.count {
                    passed[index] = argument
                }
                origin += " as \(name)(\(passed.map(format).joined(separator: ", ")))"
            }
            // The exit-stop work runs only after a call that succeeded.
            if let followUp, case .success = record.result {
                origin += ", then " + describe(followUp)
            }
        }
        return "[pid \(record.pid)] \(name)(\(arguments)) = \(result) (\(origin))"
    }

    /// Describes what remainroot does at the exit stop of a call the kernel
    /// ran.
    static func describe(_ followUp: ExitTask) -> String {
        if case .patchStatus(_, _, _, let record) = followUp {
            var fields: [String] = []
            if let uid = record.uid { fields.append("uid \(uid)") }
            if let gid = record.gid { fields.append("gid \(gid)") }
            if let device = record.device { fields.append("device \(device.attributeText)") }
            return "the recorded " + fields.joined(separator: ", ") + " patched into the stat buffer"
        }
        if case .recordDevice(_, _, let device) = followUp {
            return "the device \(device.attributeText) recorded for the regular file the kernel created"
        }
        return "its result inspected by remainroot"
    }

    /// Returns the call's name as `remainroot syscalls` prints it: 16-bit calls of
    /// older ABIs carry the suffix 16.
    static func callName(_ entry: SyscallEntry) -> String {
        entry.syscall.rawValue + (entry.idWidth == .bits16 ? "16" : "")
    }

    static func format(_ argument: TraceArgument) -> String {
        switch argument {
        case .integer(let value):
            return String(value)
        case .flags(let value):
            return value == 0 ? "0" : "0x" + String(value, radix: 16)
        case .id(let id):
            return format(id: id)
        case .ids(let ids):
            return "[" + ids.map(format(id:)).joined(separator: ", ") + "]"
        case .path(let bytes, let truncated):
            return quote(bytes) + (truncated ? "..." : "")
        case .fileDescriptor(let fd):
            return fd == currentDirectory ? "AT_FDCWD" : String(fd)
        case .mode(let mode):
            return "0" + String(mode, radix: 8)
        case .pointer(let address):
            return address == 0 ? "NULL" : "0x" + String(address, radix: 16)
        case .capabilityHeader(let version, let pid):
            return "{version=\(capabilityVersionName(version)), pid=\(pid)}"
        case .capabilitySets(let effective, let permitted, let inheritable):
            return "{effective=\(hex(effective.rawValue)), permitted=\(hex(permitted.rawValue)), inheritable=\(hex(inheritable.rawValue))}"
        case .prctlOption(let option):
            return prctlName(option)
        }
    }

    /// Formats a result as strace prints it: the value, or -1 with the
    /// errno's name and message. The kernel-internal restart codes (512 to
    /// 516) show as `?`, because the program never receives them. The call
    /// is restarted or fails with EINTR instead.
    static func format(_ result: SyscallResult) -> String {
        switch result {
        case .success(let value):
            return String(Int64(bitPattern: value))
        case .failure(let errno):
            if let restart = restartNames[errno.rawValue] {
                return "? \(restart) (the call is restarted or fails with EINTR)"
            }
            return "-1 \(errno)"
        }
    }

    private static let restartNames: [Int32: String] = [
        512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
        515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK",
    ]

    private static func format(id: UInt32) -> String {
        id == Credentials.unchanged ? "-1" : String(id)
    }

    private static func hex(_ value: UInt64) -> String {
        value == 0 ? "0" : "0x" + String(value, radix: 16)
    }

    /// Quotes bytes as a C string literal: printable ASCII as it is, the
    /// rest escaped.
    static func quote(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\t"): text += "\\t"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + "\""
    }

    private static func capabilityVersionName(_ version: UInt32) -> String {
        switch version {
        case 0x1998_0330: return "_LINUX_CAPABILITY_VERSION_1"
        case 0x2007_1026: return "_LINUX_CAPABILITY_VERSION_2"
        case 0x2008_0522: return "_LINUX_CAPABILITY_VERSION_3"
        default: return "0x" + String(version, radix: 16)
        }
    }

    private static func prctlName(_ option: PrctlOption) -> String {
        switch option {
        case .getKeepCapabilities: return "PR_GET_KEEPCAPS"
        case .setKeepCapabilities: return "PR_SET_KEEPCAPS"
        case .readBoundingSet: return "PR_CAPBSET_READ"
        case .dropFromBoundingSet: return "PR_CAPBSET_DROP"
        case .getSecureBits: return "PR_GET_SECUREBITS"
        case .setSecureBits: return "PR_SET_SECUREBITS"
        case .ambientCapabilities: return "PR_CAP_AMBIENT"
        }
    }
}
