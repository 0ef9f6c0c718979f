/// The permission checks of path calls for an identity that does not
/// bypass them: opens, access(2), and the creation of a name by mknod,
/// mkdir, symlink or an open with O_CREAT. Each check throws the error the
/// kernel would give the emulated identity, and returns where the kernel's
/// own result for the namespace root is the same as for that identity, so
/// that the call can go to the kernel.
///
/// Every error the walk finds that does not depend on the identity (ENOENT,
/// ENOTDIR, ELOOP, EROFS) is left for the kernel to return, in its own
/// order; only EACCES and EPERM are answered here.
struct PathPermissions {
    let paths: TraceePaths
    let store: OwnershipStore?
    let credentials: Credentials

    // Flags from <linux/fcntl.h>.
    static let symlinkNoFollow: UInt32 = 0x100      // AT_SYMLINK_NOFOLLOW
    static let effectiveAccess: UInt32 = 0x200      // AT_EACCESS
    static let emptyPath: UInt32 = 0x1000           // AT_EMPTY_PATH

    private func walker(for identity: Credentials) -> PathWalk {
        PathWalk(paths: paths, store: store, credentials: identity)
    }

    /// Runs a walk and returns its outcome. Returns nil when the kernel's
    /// result is final: an error that does not depend on the identity, or
    /// a path the tracer cannot resolve like the tracee. A refused search
    /// throws EACCES.
    private func walk(_ walker: PathWalk, directory: Int32, path: [UInt8], followLastLink: Bool, allowEmpty: Bool) throws(Errno) -> PathWalk.Outcome? {
        do {
            return try walker.walk(directory: directory, path: path, followLastLink: followLastLink, allowEmpty: allowEmpty)
        } catch {
            if case .kernel(let errno) = error, errno == .permissionDenied {
                throw errno
            }
            return nil
        }
    }

    // MARK: - Resolution for the chown family

    /// Resolves the target of chown, lchown or fchownat with search checks.
    /// Throws the walk's error, since the tracer performs chown itself.
    func resolve(directory: Int32, path: [UInt8], followLastLink: Bool, allowEmpty: Bool) throws(TraceePaths.Failure) -> OpenedFile {
        switch try walker(for: credentials).walk(directory: directory, path: path, followLastLink: followLastLink, allowEmpty: allowEmpty) {
        case .found(let file, _):
            return file
        case .missing:
            throw .kernel(.noSuchFileOrDirectory)
        }
    }

    // MARK: - Creation

    /// Checks what the kernel checks before it makes a name (`filename_create`, then
    /// `may_create`): search permission on the way, then write and search
    /// permission on the directory that gets the name. A name that exists,
    /// or a read-only mount, is the kernel's to refuse (EEXIST, EROFS),
    /// before the permission check.
    func checkCreate(directory: Int32, path: [UInt8]) throws(Errno) {
        guard !credentials.isCapable(CapabilitySet.dacOverride) else { return }
        let walker = walker(for: credentials)
        guard case .missing(let parent, _) = try walk(walker, directory: directory, path: path, followLastLink: false, allowEmpty: false),
              !parent.isOnReadOnlyMount
        else { return }
        if let denied = Permission.checkCreate(in: walker.inode(of: parent), credentials: credentials) {
            throw denied
        }
    }

    // MARK: - open

    /// Returns whether an open by this identity may be refused at all: without
    /// CAP_DAC_OVERRIDE, or without CAP_FOWNER for O_NOATIME.
    static func mayRefuseOpen(flags: UInt32, credentials: Credentials) -> Bool {
        if !credentials.isCapable(CapabilitySet.dacOverride) { return true }
        return flags & OpenFlags.noAccessTime != 0 && !credentials.isCapable(CapabilitySet.fileOwner)
    }

    /// Checks an open as `path_openat` does. Every directory on the way
    /// needs search permission. Then a missing name with O_CREAT needs
    /// `may_o_create`, O_TMPFILE needs write and search permission on its
    /// directory, and a file that exists needs `may_open`.
    func checkOpen(directory: Int32, path: [UInt8], flags: UInt32) throws(Errno) {
        guard Self.mayRefuseOpen(flags: flags, credentials: credentials) else { return }
        let walker = walker(for: credentials)
        let creating = flags & OpenFlags.create != 0
        let exclusive = creating && flags & OpenFlags.exclusive != 0

        if flags & OpenFlags.temporaryFile != 0 {
            // build_open_flags rejects O_TMPFILE without write access with
            // EINVAL before any lookup.
            guard flags & OpenFlags.accessModeMask != OpenFlags.readOnly,
                  case .found(let directory, _) = try walk(walker, directory: directory, path: path, followLastLink: true, allowEmpty: false),
                  directory.isDirectory, !directory.isOnReadOnlyMount
            else { return }
            if let denied = Permission.checkCreate(in: walker.inode(of: directory), credentials: credentials) {
                throw denied
            }
            return
        }

        // O_CREAT with O_EXCL never follows a last symbolic link.
        let followLastLink = flags & OpenFlags.noFollow == 0 && !exclusive
        switch try walk(walker, directory: directory, path: path, followLastLink: followLastLink, allowEmpty: false) {
        case nil:
            return
        case .missing(let parent, _):
            guard creating, !parent.isOnReadOnlyMount, path.last != UInt8(ascii: "/") else { return }
            if let denied = Permission.checkCreate(in: walker.inode(of: parent), credentials: credentials) {
                throw denied
            }
        case .found(let file, _):
            // EEXIST, ELOOP, EISDIR and ENOTDIR come before may_open's
            // permission check, and the kernel returns them.
            if exclusive || file.isSymbolicLink { return }
            let mask = Permission.openMask(flags: flags)
            if file.isDirectory && (creating || mask.contains(.write)) { return }
            if flags & OpenFlags.directory != 0 && !file.isDirectory { return }
            // NOTE: a read-only mount makes the kernel return EROFS for a
            // write to a regular file, directory or link before EACCES; a
            // read-only bind mount of a writable filesystem returns EACCES
            // first, which statfs cannot tell apart.
            if mask.contains(.write) && file.isOnReadOnlyMount && (file.isRegular || file.isDirectory) { return }
            if let denied = Permission.checkOpen(flags: flags, inode: walker.inode(of: file), credentials: credentials) {
                throw denied
            }
        }
    }

    // MARK: - execve

    /// Checks the program an execve(2) or execveat(2) opens, as
    /// `do_open_execat` does: search permission on the way, then execute
    /// permission on the file. A shell looks a command up in each folder of
    /// PATH until an execve stops failing with EACCES or ENOENT, so an
    /// unchecked execve would run a program the identity may not reach,
    /// and the program's own opens would then fail. Files that are not
    /// regular, and noexec mounts, are refused by the kernel to the
    /// namespace root too.
    /// NOTE: the interpreter of a script and the ELF interpreter are
    /// opened by the kernel unchecked.
    func checkExecute(directory: Int32, path: [UInt8], flags: UInt32) throws(Errno) {
        guard !credentials.isCapable(CapabilitySet.dacOverride),
              flags & ~(Self.symlinkNoFollow | Self.emptyPath) == 0
        else { return }
        let walker = walker(for: credentials)
        guard case .found(let file, _) = try walk(walker, directory: directory, path: path,
                                                  followLastLink: flags & Self.symlinkNoFollow == 0,
                                                  allowEmpty: flags & Self.emptyPath != 0),
              file.isRegular
        else { return }
        if let denied = Permission.check(.execute, inode: walker.inode(of: file), credentials: credentials) {
            throw denied
        }
    }

    // MARK: - access

    /// Checks access(2), faccessat(2) and faccessat2(2) as `do_faccessat`
    /// does, with the real ids unless AT_EACCESS. Invalid modes and flags
    /// go to the kernel (EINVAL), and so do requests whose result is the
    /// same for the namespace root.
    func checkAccess(directory: Int32, path: [UInt8], mode: UInt32, flags: UInt32) throws(Errno) {
        guard mode & ~0o7 == 0, flags & ~(Self.effectiveAccess | Self.symlinkNoFollow | Self.emptyPath) == 0 else { return }
        let identity = Permission.accessCredentials(credentials, effectiveIDs: flags & Self.effectiveAccess != 0)
        // With CAP_DAC_OVERRIDE only executing a file without execute bits
        // is refused, and the kernel refuses that to the namespace root too.
        guard !identity.isCapable(CapabilitySet.dacOverride) else { return }

        let walker = walker(for: identity)
        guard case .found(let file, _) = try walk(walker, directory: directory, path: path,
                                                  followLastLink: flags & Self.symlinkNoFollow == 0,
                                                  allowEmpty: flags & Self.emptyPath != 0)
        else { return }
        let mask = Permission.Mask(rawValue: mode)
        if mask.isEmpty { return }
        if mask.contains(.write) && file.isOnReadOnlyMount && (file.isRegular || file.isDirectory || file.isSymbolicLink) { return }
        if let denied = Permission.check(mask, inode: walker.inode(of: file), credentials: identity) {
            throw denied
        }
    }
}

extension SyscallHandlers {
    /// Applies the permission checks of an open or access call to the
    /// emulated identity: throws the refusal the kernel would give it, or
    /// returns so that the call goes on to the ownership handlers or the
    /// kernel.
    func checkPathPermission(_ syscall: Syscall, arguments: [UInt64], credentials: Credentials, memory: TraceeMemory, pid: ProcessID) throws(Errno) {
        // An emulated root's opens that create a file stop for ownership
        // records; they must not read the path a second time.
        if Permission.bypassesChecks(credentials) { return }
        let paths = TraceePaths(pid: pid, memory: memory, sharesTracerRoot: ownership.map { !$0.rootsMayDiffer } ?? false)
        let checks = PathPermissions(paths: paths, store: ownership, credentials: credentials)
        func path(_ index: Int) -> [UInt8]? {
            // An unreadable path is the kernel's to refuse (EFAULT,
            // ENAMETOOLONG), before any permission check.
            try? paths.readPath(at: arguments[index])
        }
        func low(_ index: Int) -> UInt32 { UInt32(truncatingIfNeeded: arguments[index]) }
        let currentDirectory = TraceePaths.currentDirectory

        switch syscall {
        case .open:
            guard let path = path(0) else { return }
            try checks.checkOpen(directory: currentDirectory, path: path, flags: low(1))
        case .creat:
            guard let path = path(0) else { return }
            try checks.checkOpen(directory: currentDirectory, path: path, flags: OpenFlags.create | OpenFlags.writeOnly | OpenFlags.truncate)
        case .openat:
            guard let path = path(1) else { return }
            try checks.checkOpen(directory: Int32(truncatingIfNeeded: arguments[0]), path: path, flags: low(2))
        case .openat2:
            // struct open_how: the 64-bit flags, mode and resolve fields.
            // NOTE: an openat2 with RESOLVE_* restrictions is left to the
            // kernel unchecked.
            guard arguments[3] >= 24, let how = try? memory.read(at: arguments[2], count: 24),
                  how[16..<24].allSatisfy({ $0 == 0 }),
                  let path = path(1)
            else { return }
            let flags = how[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard flags >> 32 == 0 else { return }
            try checks.checkOpen(directory: Int32(truncatingIfNeeded: arguments[0]), path: path, flags: UInt32(flags))
        case .access:
            guard let path = path(0) else { return }
            try checks.checkAccess(directory: currentDirectory, path: path, mode: low(1), flags: 0)
        case .faccessat:
            guard let path = path(1) else { return }
            try checks.checkAccess(directory: Int32(truncatingIfNeeded: arguments[0]), path: path, mode: low(2), flags: 0)
        case .faccessat2:
            guard let path = path(1) else { return }
            try checks.checkAccess(directory: Int32(truncatingIfNeeded: arguments[0]), path: path, mode: low(2), flags: low(3))
        case .execve:
            guard let path = path(0) else { return }
            try checks.checkExecute(directory: currentDirectory, path: path, flags: 0)
        case .execveat:
            guard let path = path(1) else { return }
            try checks.checkExecute(directory: Int32(truncatingIfNeeded: arguments[0]), path: path, flags: low(4))
        default:
            return
        }
    }
}
