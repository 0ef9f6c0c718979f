import CShims
import Glibc

/// Finds, from the tracer, the file a tracee's path argument names, as the
/// kernel would resolve it for that tracee: relative to its working
/// directory or one of its descriptors, inside its root directory.
///
/// The tracer opens /proc/PID/cwd, /proc/PID/root and /proc/PID/fd/N, which
/// lead to the tracee's own directories even across mount namespaces, and
/// resolves the rest with openat2(2). Two things would resolve differently
/// in the tracer than in the tracee: magic links such as /proc/self/fd/0
/// (and /proc/self itself, which names the reader), so resolution rejects
/// magic links and procfs results, and a relative path of a chrooted
/// tracee. Callers then let the kernel run the call unchanged.
struct TraceePaths {
    let pid: ProcessID
    let memory: TraceeMemory
    /// Whether every tracee is known to have the tracer's root directory
    /// and mount namespace, so that paths resolve from the tracer's own
    /// root without opening /proc/PID/root.
    let sharesTracerRoot: Bool

    /// `AT_FDCWD`
    static let currentDirectory: Int32 = -100
    /// `PATH_MAX`, which counts the terminating NUL.
    static let maximumPathLength = 4096

    /// `RESOLVE_NO_MAGICLINKS` and `RESOLVE_IN_ROOT` from <linux/openat2.h>.
    static let resolveNoMagicLinks: UInt64 = 0x02
    static let resolveInRoot: UInt64 = 0x10

    /// Why the tracer cannot stand in for the kernel on a path.
    enum Failure: Error {
        /// The kernel's own answer: the same error the call would return.
        case kernel(Errno)
        /// The tracer would resolve differently; let the kernel run the call.
        case unreliable
    }

    /// Reads a NUL-terminated path, page by page so that a string ending
    /// just before an unmapped page still reads, as the kernel's
    /// strncpy_from_user does. EFAULT for a bad pointer, ENAMETOOLONG
    /// without a NUL within PATH_MAX bytes. The first read copies at
    /// most `firstReadSize` bytes, enough for most paths, because copying
    /// to the page's end each time cost a build several percent of the
    /// tracer's time.
    func readPath(at address: UInt64) throws(Errno) -> [UInt8] {
        var path: [UInt8] = []
        var cursor = address
        var limit = Self.firstReadSize
        while path.count < Self.maximumPathLength {
            let pageEnd = (cursor | 0xfff) + 1
            let count = min(Int(pageEnd - cursor), Self.maximumPathLength - path.count, limit)
            let chunk = try memory.read(at: cursor, count: count)
            if let end = chunk.firstIndex(of: 0) {
                if path.isEmpty {
                    return Array(chunk[..<end])
                }
                path.append(contentsOf: chunk[..<end])
                return path
            }
            path.append(contentsOf: chunk)
            cursor += UInt64(count)
            limit = Self.maximumPathLength
        }
        throw .nameTooLong
    }

    static let firstReadSize = 256

    /// Opens the file named by `directory` and `path` with O_PATH. An
    /// empty path with `allowEmpty` (AT_EMPTY_PATH) names the descriptor
    /// itself.
    func open(directory: Int32, path: [UInt8], followLastLink: Bool, allowEmpty: Bool) throws(Failure) -> OpenedFile {
        if path.isEmpty {
            guard allowEmpty else { throw .kernel(.noSuchFileOrDirectory) }
            return try openDescriptor(directory)
        }

        let text = String(decoding: path, as: UTF8.self)
        let descriptor: Int32
        if path.first == UInt8(ascii: "/") && sharesTracerRoot {
            descriptor = try openat2(Self.currentDirectory, text, followLastLink: followLastLink, resolve: Self.resolveNoMagicLinks)
        } else if path.first == UInt8(ascii: "/") {
            let root = try openProcessLink("root")
            defer { close(root) }
            descriptor = try openat2(root, text, followLastLink: followLastLink, resolve: Self.resolveInRoot | Self.resolveNoMagicLinks)
        } else if try resolvesLikeTracer() {
            let base = directory == Self.currentDirectory ? try openProcessLink("cwd") : try openTraceeDescriptor(directory)
            defer { close(base) }
            descriptor = try openat2(base, text, followLastLink: followLastLink, resolve: Self.resolveNoMagicLinks)
        } else {
            descriptor = try openInsideRoot(directory: directory, relativePath: text, followLastLink: followLastLink)
        }
        return try wrap(descriptor)
    }

    private func resolvesLikeTracer() throws(Failure) -> Bool {
        if sharesTracerRoot { return true }
        return try rootIsTracerRoot()
    }

    /// A relative path of a chrooted tracee: its starting directory, as a
    /// path inside its root, is prefixed, and the whole resolves with
    /// RESOLVE_IN_ROOT, so that ".." and absolute symbolic links stop at
    /// that root as the kernel's own walk does. A starting directory
    /// outside the root (a chroot without chdir) is left to the kernel.
    private func openInsideRoot(directory: Int32, relativePath: String, followLastLink: Bool) throws(Failure) -> Int32 {
        let base = directory == Self.currentDirectory ? "cwd" : "fd/\(directory)"
        guard let rootPath = SystemCalls.readLink("/proc/\(pid.rawValue)/root") else { throw .unreliable }
        guard let basePath = SystemCalls.readLink("/proc/\(pid.rawValue)/\(base)") else {
            throw directory == Self.currentDirectory ? .unreliable : .kernel(.badFileDescriptor)
        }
        let inside: Substring
        if rootPath == "/" {
            inside = basePath[...]
        } else if basePath == rootPath || basePath.hasPrefix(rootPath + "/") {
            inside = basePath.dropFirst(rootPath.count)
        } else {
            throw .unreliable
        }

        let root = try openProcessLink("root")
        defer { close(root) }
        return try openat2(root, "\(inside)/\(relativePath)", followLastLink: followLastLink, resolve: Self.resolveInRoot | Self.resolveNoMagicLinks)
    }

    /// Opens what the tracee's descriptor refers to; EBADF when it has no
    /// such descriptor.
    func openDescriptor(_ fd: Int32) throws(Failure) -> OpenedFile {
        if fd == Self.currentDirectory {
            return try wrap(try openProcessLink("cwd"))
        }
        return try wrap(try openTraceeDescriptor(fd))
    }

    /// Opens the tracee's root directory: the tracer's own when they share
    /// it, else /proc/PID/root.
    func openRootDirectory() throws(Failure) -> OpenedFile {
        if sharesTracerRoot {
            return try wrapAny(shim_open_path(Self.currentDirectory, "/", 0, 0))
        }
        return try wrapAny(try openProcessLink("root"))
    }

    /// Opens one name in `directory` without following a symbolic link
    /// there, crossing a mount point as a lookup does. ".." climbs to the
    /// parent, so the caller stops it at the tracee's root.
    func openChild(of directory: OpenedFile, name: [UInt8]) throws(Failure) -> OpenedFile {
        // The bytes go as they are: a name need not be valid UTF-8.
        let text = name.map { CChar(bitPattern: $0) } + [0]
        let fd = shim_open_path(directory.descriptor, text, 1, 0)
        guard fd >= 0 else {
            throw .kernel(Errno(-fd))
        }
        return try wrapAny(fd)
    }

    private func wrap(_ descriptor: Int32) throws(Failure) -> OpenedFile {
        let file: OpenedFile
        do {
            file = try OpenedFile(descriptor: descriptor)
        } catch {
            throw .unreliable
        }
        guard !file.isOnProcfs else { throw .unreliable }
        return file
    }

    private func openat2(_ base: Int32, _ path: String, followLastLink: Bool, resolve: UInt64) throws(Failure) -> Int32 {
        let fd = shim_open_path(base, path, followLastLink ? 0 : 1, resolve)
        guard fd >= 0 else {
            // ELOOP may be a magic link the tracer refused to follow, and
            // EXDEV an escape RESOLVE_IN_ROOT refused; the kernel decides.
            if fd == -ELOOP || fd == -EXDEV || fd == -EAGAIN { throw .unreliable }
            throw .kernel(Errno(-fd))
        }
        return fd
    }

    private func openProcessLink(_ name: String) throws(Failure) -> Int32 {
        let fd = shim_open_path(Self.currentDirectory, "/proc/\(pid.rawValue)/\(name)", 0, 0)
        guard fd >= 0 else { throw .unreliable }
        return fd
    }

    /// Opens /proc/PID/fd/N: EBADF when the tracee has no descriptor N.
    private func openTraceeDescriptor(_ fd: Int32) throws(Failure) -> Int32 {
        guard fd >= 0 else { throw .kernel(.badFileDescriptor) }
        let result = shim_open_path(Self.currentDirectory, "/proc/\(pid.rawValue)/fd/\(fd)", 0, 0)
        if result == -ENOENT { throw .kernel(.badFileDescriptor) }
        guard result >= 0 else { throw .unreliable }
        return result
    }

    /// Whether the tracee's root directory is the tracer's, so that a
    /// relative path resolves the same from either.
    private func rootIsTracerRoot() throws(Failure) -> Bool {
        let theirs = try wrapAny(try openProcessLink("root"))
        let ours = try wrapAny(shim_open_path(Self.currentDirectory, "/", 0, 0))
        return theirs.key == ours.key
    }

    private func wrapAny(_ descriptor: Int32) throws(Failure) -> OpenedFile {
        guard descriptor >= 0 else { throw .unreliable }
        do {
            return try OpenedFile(descriptor: descriptor)
        } catch {
            throw .unreliable
        }
    }

    /// The open flags of the tracee's descriptor (from /proc/PID/fdinfo).
    func descriptorFlags(_ fd: Int32) -> Int? {
        let flags = shim_descriptor_flags(pid.rawValue, fd)
        return flags >= 0 ? flags : nil
    }
}
