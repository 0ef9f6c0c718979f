import CShims
import Glibc

/// What to run and how it starts.
public struct LaunchRequest {
    /// argv of the command; `arguments[0]` is looked up in PATH as
    /// execvp(3) would when it contains no slash.
    public var arguments: [String]
    /// The command's environment, `NAME=value` strings.
    public var environment: [String]
    /// The signal mask the command starts with: the one remainroot itself
    /// was started with, before it blocked the signals it forwards.
    public var signalMask: sigset_t
    /// The emulated credentials of the command's first thread.
    public var credentials: Credentials

    public init(arguments: [String], environment: [String], signalMask: sigset_t, credentials: Credentials) {
        self.arguments = arguments
        self.environment = environment
        self.signalMask = signalMask
        self.credentials = credentials
    }
}

/// Why the command did not start, as the child reported it before exiting.
public enum LaunchFailure: Error, Equatable {
    /// seccomp(2) refused the filter.
    case filterRejected(Errno)
    /// execve(2) failed for every candidate path; the child exited with 127
    /// for "not found" and 126 for any other error, as a shell does.
    case executionFailed(Errno)
}

/// The paths execvp(3) would try for `command`, in order: the command
/// itself when it contains a slash, else each PATH entry (an empty one is
/// the current directory), with glibc's default PATH when none is set.
func executableCandidates(for command: String, path: String?) -> [String] {
    if command.contains("/") {
        return [command]
    }
    let directories = (path ?? "/bin:/usr/bin").split(separator: ":", omittingEmptySubsequences: false)
    return directories.map { directory in
        directory.isEmpty ? command : "\(directory)/\(command)"
    }
}

/// NUL-terminated C string arrays that live until the launch is over.
final class CStringArray {
    var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String], spareSlots: Int = 0) {
        pointers = strings.map { strdup($0) }
        pointers.insert(contentsOf: [UnsafeMutablePointer<CChar>?](repeating: nil, count: spareSlots), at: min(1, pointers.count))
        pointers.append(nil)
    }

    deinit {
        for pointer in pointers {
            free(pointer)
        }
    }
}

/// A pipe whose two ends are closed on exec.
struct Pipe {
    let readEnd: Int32
    let writeEnd: Int32

    static func make() -> Result<Pipe, Errno> {
        var fds: [Int32] = [0, 0]
        let result = shim_pipe_cloexec(&fds)
        guard result == 0 else { return .failure(Errno(-result)) }
        return .success(Pipe(readEnd: fds[0], writeEnd: fds[1]))
    }
}

/// Reads the child's failure report, if it wrote one, without blocking.
func readLaunchReport(from fd: Int32) -> LaunchFailure? {
    var report = shim_spawn_report(stage: 0, error_number: 0)
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    let got = withUnsafeMutableBytes(of: &report) { read(fd, $0.baseAddress, $0.count) }
    guard got == MemoryLayout<shim_spawn_report>.size else { return nil }

    switch report.stage {
    case Int32(SHIM_SPAWN_STAGE_FILTER.rawValue): return .filterRejected(Errno(report.error_number))
    case Int32(SHIM_SPAWN_STAGE_EXEC.rawValue): return .executionFailed(Errno(report.error_number))
    default: return nil
    }
}
