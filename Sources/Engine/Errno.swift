import Glibc

/// An error number from `<errno.h>`, named in full words. The C name is in
/// each constant's documentation so that a search for it finds the constant.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `EPERM`
    public static let notPermitted = Errno(EPERM)
    /// `ENOENT`
    public static let noSuchFileOrDirectory = Errno(ENOENT)
    /// `ESRCH`
    public static let noSuchProcess = Errno(ESRCH)
    /// `EINTR`
    public static let interrupted = Errno(EINTR)
    /// `EACCES`
    public static let permissionDenied = Errno(EACCES)
    /// `EFAULT`
    public static let badAddress = Errno(EFAULT)
    /// `EINVAL`
    public static let invalidArgument = Errno(EINVAL)
    /// `ENOMEM`
    public static let outOfMemory = Errno(ENOMEM)
    /// `ECHILD`
    public static let noChildProcesses = Errno(ECHILD)
    /// `ENOSYS`
    public static let functionNotImplemented = Errno(ENOSYS)
    /// `EBADF`
    public static let badFileDescriptor = Errno(EBADF)
    /// `ENAMETOOLONG`
    public static let nameTooLong = Errno(ENAMETOOLONG)
    /// `EROFS`
    public static let readOnlyFileSystem = Errno(EROFS)
    /// `ENODATA`
    public static let noData = Errno(ENODATA)
    /// `ERANGE`
    public static let resultTooLarge = Errno(ERANGE)
    /// `ENOTDIR`
    public static let notDirectory = Errno(ENOTDIR)
    /// `ELOOP`
    public static let tooManySymbolicLinks = Errno(ELOOP)
    /// `EOPNOTSUPP` (also `ENOTSUP`)
    public static let notSupported = Errno(EOPNOTSUPP)

    /// The symbolic name, such as `EPERM`, for logs and traces.
    public var name: String {
        Errno.names[rawValue] ?? "E\(rawValue)"
    }

    public var description: String {
        "\(name) (\(String(cString: strerror(rawValue))))"
    }

    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR",
        EIO: "EIO", E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF",
        ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES",
        EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSPC: "ENOSPC",
        EROFS: "EROFS", ERANGE: "ERANGE", ENOSYS: "ENOSYS", ELOOP: "ELOOP",
        ENAMETOOLONG: "ENAMETOOLONG", EOPNOTSUPP: "EOPNOTSUPP", ENODATA: "ENODATA",
    ]
}

/// A failed operation on a tracee: which call, on which thread, and why.
public struct TraceError: Error, CustomStringConvertible {
    public let operation: String
    public let pid: ProcessID
    public let errno: Errno

    public init(_ operation: String, pid: ProcessID, errno: Errno) {
        self.operation = operation
        self.pid = pid
        self.errno = errno
    }

    public var description: String {
        "\(operation) on pid \(pid) failed: \(errno)"
    }
}

/// A thread id, as the kernel numbers tasks: the pid of a process's first
/// thread, the tid of any other.
public struct ProcessID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: pid_t

    public init(_ rawValue: pid_t) {
        self.rawValue = rawValue
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: ProcessID, rhs: ProcessID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
