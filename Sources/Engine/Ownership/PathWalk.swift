import CShims
import Glibc

/// Resolves a tracee's path one component at a time, as the kernel's
/// `link_path_walk` does, checking at each directory that the emulated
/// identity may search it. The tracer resolves as the namespace root, which
/// may search everything, so a whole-path openat2(2) would find files the
/// emulated identity cannot reach.
///
/// Every name looked up needs search permission on the directory that
/// contains it (`may_lookup`), the last name included, and so do the
/// directories a symbolic link leads through. Only the walk's outcome is
/// decided here: an error the kernel would return whatever the identity
/// (ENOENT, ENOTDIR, ELOOP) is reported as such, so that the caller can let
/// the kernel return it.
struct PathWalk {
    let paths: TraceePaths
    let store: OwnershipStore?
    /// The identity whose search permission is checked.
    let credentials: Credentials

    /// `MAXSYMLINKS` from include/linux/namei.h: a walk follows at most 40
    /// symbolic links, and fails with ELOOP on the next.
    static let maximumLinks = 40

    /// The end of a walk.
    enum Outcome {
        /// The path names this file. `parent` is the directory the last
        /// name was looked up in, or nil when the path had no name ("/", or
        /// an empty path with AT_EMPTY_PATH).
        case found(OpenedFile, parent: OpenedFile?)
        /// Every directory on the way exists and may be searched, but the
        /// last name does not exist in `parent`.
        case missing(parent: OpenedFile, name: [UInt8])
    }

    /// Returns the owner and mode a permission check reads: the recorded
    /// owner over the real one.
    func inode(of file: OpenedFile) -> Permission.Inode {
        let record = store?.record(of: file)
        return Permission.Inode(uid: record?.uid ?? file.status.uid, gid: record?.gid ?? file.status.gid, mode: file.status.mode)
    }

    /// Checks search permission on a directory. When the execute bit is
    /// set for owner, group and others alike, no owner can change the
    /// outcome, and the recorded owner is not read.
    private func checkSearch(_ directory: OpenedFile) throws(TraceePaths.Failure) {
        if directory.status.mode & 0o111 == 0o111 { return }
        if let denied = Permission.checkLookup(in: inode(of: directory), credentials: credentials) {
            throw .kernel(denied)
        }
    }

    /// Walks `path` from the tracee's directory `directory` (or its root for
    /// an absolute path). With `followLastLink`, a symbolic link as last
    /// name is followed; a trailing slash follows it too and requires a
    /// directory.
    func walk(directory: Int32, path: [UInt8], followLastLink: Bool, allowEmpty: Bool) throws(TraceePaths.Failure) -> Outcome {
        let root = try paths.openRootDirectory()
        if path.isEmpty {
            guard allowEmpty else { throw .kernel(.noSuchFileOrDirectory) }
            return .found(try paths.openDescriptor(directory), parent: nil)
        }

        var current = path.first == UInt8(ascii: "/") ? root : try paths.openDescriptor(directory)
        guard current.isDirectory else { throw .kernel(.notDirectory) }
        var pending = Self.components(of: path)
        let endsWithSlash = path.last == UInt8(ascii: "/")
        var parent: OpenedFile?
        var links = 0

        while !pending.isEmpty {
            let name = pending.removeFirst()
            let isLast = pending.isEmpty
            try checkSearch(current)

            let next: OpenedFile
            if name == [UInt8(ascii: ".")] {
                next = current
            } else if name == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                next = current.key == root.key ? current : try paths.openChild(of: current, name: name)
            } else {
                do {
                    next = try paths.openChild(of: current, name: name)
                } catch .kernel(let errno) where errno == .noSuchFileOrDirectory && isLast {
                    return .missing(parent: current, name: name)
                }
            }

            if next.isSymbolicLink && (!isLast || followLastLink || endsWithSlash) {
                links += 1
                guard links <= Self.maximumLinks else { throw .kernel(.tooManySymbolicLinks) }
                // A link on procfs may be a magic link (/proc/self,
                // /proc/PID/fd/N), which reads differently for the tracer.
                guard !next.isOnProcfs else { throw .unreliable }
                let target = try Self.readLink(next)
                guard !target.isEmpty else { throw .kernel(.noSuchFileOrDirectory) }
                pending = Self.components(of: target) + pending
                if target.first == UInt8(ascii: "/") {
                    current = root
                }
                if pending.isEmpty {
                    // A link to "/": the walk ends at the root itself.
                    return .found(current, parent: nil)
                }
                continue
            }

            if isLast {
                if endsWithSlash && !next.isDirectory { throw .kernel(.notDirectory) }
                return .found(next, parent: current)
            }
            guard next.isDirectory else { throw .kernel(.notDirectory) }
            parent = current
            current = next
        }
        // Only slashes, or names that were all "." and "..".
        return .found(current, parent: parent)
    }

    /// Splits a path into its names, dropping the empty ones that repeated,
    /// leading and trailing slashes make.
    static func components(of path: [UInt8]) -> [[UInt8]] {
        path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
    }

    /// Reads the target of the symbolic link `link` (an O_PATH descriptor
    /// of the link itself).
    static func readLink(_ link: OpenedFile) throws(TraceePaths.Failure) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: TraceePaths.maximumPathLength)
        let length = readlinkat(link.descriptor, "", &buffer, buffer.count)
        guard length >= 0 else { throw .unreliable }
        return buffer[0..<length].map { UInt8(bitPattern: $0) }
    }
}
