/// Reads and writes the memory of a stopped tracee. The engine's own
/// implementation uses process_vm_readv(2) and process_vm_writev(2); tests
/// replace it.
public protocol TraceeMemory {
    /// Reads `count` bytes, or throws EFAULT when any of them is not mapped
    /// readable.
    func read(at address: UInt64, count: Int) throws(Errno) -> [UInt8]

    /// Writes `bytes`, or throws EFAULT when any of them is not mapped
    /// writable. Bytes before the fault may have been written, as with the
    /// kernel's put_user.
    func write(_ bytes: [UInt8], at address: UInt64) throws(Errno)
}

/// What the tracer does with a trapped call.
public enum SyscallAction: Equatable, Sendable {
    /// Let the kernel run the call unchanged.
    case passThrough
    /// Skip the call; the program sees this result.
    case answer(SyscallResult)
    /// Let the kernel run the call with these arguments replaced, then put
    /// the program's own arguments back at the exit stop.
    case rewriteArguments([Int: UInt64])
    /// Let the kernel run the call, then look at its result at the exit
    /// stop.
    case inspectResult(ExitTask)
    /// Both of the above.
    case rewriteArgumentsThenInspect([Int: UInt64], ExitTask)
}

/// Work left for a call's exit stop, after the kernel ran it.
public enum ExitTask: Equatable, Sendable {
    /// Rewrite the owner, type and device number in the stat buffer the
    /// kernel filled, if it still describes the file looked up at entry.
    case patchStatus(buffer: UInt64, layout: StatusLayout, file: FileKey, record: OwnershipRecord)
    /// Record the device that mknod asked for on the regular file the
    /// kernel created instead.
    case recordDevice(directory: Int32, path: [UInt8], device: FakeDevice)
    /// Record the creator's filesystem ids as the owner of the file the
    /// call created: the one the returned descriptor names, or the one at
    /// the path.
    case recordNewFile(directory: Int32, path: [UInt8], resultIsDescriptor: Bool)
}

/// Which structure a stat call fills.
public enum StatusLayout: Equatable, Sendable {
    case stat(StatLayout)
    /// `struct statx`, the same on every CPU.
    case statx
}

/// The emulation of each answered call, free of ptrace so that it can be
/// tested over plain values. Call only from the worker that owns the tracee
/// whose credentials are passed in.
public struct SyscallHandlers: Sendable {
    public let userMapping: IDMapping
    public let groupMapping: IDMapping
    public let logger: Logger
    /// The highest valid capability number, from the running kernel.
    public let lastCapability: Int
    /// Where recorded owners and devices live; nil with `--ownership=off`.
    public let ownership: OwnershipStore?

    public init(userMapping: IDMapping, groupMapping: IDMapping, logger: Logger, lastCapability: Int = 40, ownership: OwnershipStore? = nil) {
        self.userMapping = userMapping
        self.groupMapping = groupMapping
        self.logger = logger
        self.lastCapability = lastCapability
        self.ownership = ownership
    }

    /// Whether the seccomp filter must trap `syscall`.
    /// The access and execute calls stop only under the permission filter that a
    /// thread gets when its identity stops bypassing permission checks.
    public func answers(_ syscall: Syscall) -> Bool {
        switch syscall {
        case .access, .faccessat, .faccessat2, .execve, .execveat:
            return false
        default:
            return !syscall.isOwnershipCall || ownership != nil
        }
    }

    /// Finishes an ``ExitTask`` at the call's exit stop: the result to put
    /// in place of the kernel's, or nil to leave it.
    public func finish(_ task: ExitTask, result: SyscallResult, credentials: Credentials, memory: TraceeMemory, pid: ProcessID) -> SyscallResult? {
        guard let ownership else { return nil }
        let context = FileCallContext(pid: pid, memory: memory, credentials: credentials, store: ownership, handlers: self)
        return context.finish(task, result: result)
    }

    /// Answers one trapped call of thread `pid`. `credentialsOfThread`
    /// finds another traced thread's credentials, for capget(2) on a pid.
    public func handle(
        _ entry: SyscallEntry,
        arguments: [UInt64],
        credentials: inout Credentials,
        memory: TraceeMemory,
        pid: ProcessID,
        statLayout: StatLayout? = nil,
        credentialsOfThread: (ProcessID) -> Credentials? = { _ in nil }
    ) -> SyscallAction {
        let width = entry.idWidth
        func id(_ index: Int) -> UInt32 { Self.id(fromArgument: arguments[index], width: width) }
        func value(_ id: UInt32) -> SyscallAction { .answer(.success(UInt64(Self.idResult(id, width: width)))) }

        do throws(Errno) {
            switch entry.syscall {
            case .getuid: return value(credentials.uid)
            case .geteuid: return value(credentials.euid)
            case .getgid: return value(credentials.gid)
            case .getegid: return value(credentials.egid)

            case .getresuid:
                try Self.writeIDs([credentials.uid, credentials.euid, credentials.suid], to: Array(arguments[0...2]), width: width, memory: memory)
                return .answer(.success(0))
            case .getresgid:
                try Self.writeIDs([credentials.gid, credentials.egid, credentials.sgid], to: Array(arguments[0...2]), width: width, memory: memory)
                return .answer(.success(0))
            case .getgroups:
                let count = try Self.getGroups(credentials.groups, size: Int32(truncatingIfNeeded: arguments[0]), list: arguments[1], width: width, memory: memory)
                return .answer(.success(UInt64(count)))

            case .setuid:
                try credentials.setUID(id(0))
            case .setgid:
                try credentials.setGID(id(0))
            case .setreuid:
                try credentials.setREUID(real: id(0), effective: id(1))
            case .setregid:
                try credentials.setREGID(real: id(0), effective: id(1))
            case .setresuid:
                try credentials.setRESUID(real: id(0), effective: id(1), saved: id(2))
            case .setresgid:
                try credentials.setRESGID(real: id(0), effective: id(1), saved: id(2))
            case .setfsuid:
                // setfsuid16 returns the previous id unconverted
                // (kernel/uid16.c), so no 16-bit overflow mapping here.
                return .answer(.success(UInt64(credentials.setFSUID(id(0)))))
            case .setfsgid:
                return .answer(.success(UInt64(credentials.setFSGID(id(0)))))
            case .setgroups:
                try Self.setGroups(size: Int32(truncatingIfNeeded: arguments[0]), list: arguments[1], width: width, credentials: &credentials, memory: memory)

            case .capget:
                return try capabilityGet(header: arguments[0], data: arguments[1], credentials: credentials, memory: memory, pid: pid, credentialsOfThread: credentialsOfThread)
            case .capset:
                try capabilitySet(header: arguments[0], data: arguments[1], credentials: &credentials, memory: memory, pid: pid)
            case .prctl:
                guard let option = PrctlOption(rawValue: UInt32(truncatingIfNeeded: arguments[0])) else { return .passThrough }
                let value = try credentials.prctl(option, arguments[1], arguments[2], arguments[3], arguments[4], lastCapability: lastCapability)
                return .answer(.success(value))

            case .chown, .fchown, .lchown, .fchownat:
                if let ownership {
                    let context = FileCallContext(pid: pid, memory: memory, credentials: credentials, store: ownership, handlers: self)
                    return try context.chown(entry, arguments: arguments)
                }
                return chownWithoutRecords(uidIndex: entry.syscall == .fchownat ? 2 : 1, arguments: arguments, width: width, credentials: credentials, pid: pid)

            case .seccomp:
                return .passThrough
            case .ptrace:
                logger.logGapOnce("nested-ptrace", pid: pid,
                    "a traced program called ptrace; a process has one tracer and remainroot is it, so PTRACE_TRACEME and attaching to a traced process fail with EPERM")
                return .passThrough
            case .clone:
                // A child made with CLONE_UNTRACED would run untraced under
                // the filter, and every call remainroot answers would fail
                // with ENOSYS in it.
                return .rewriteArguments([0: arguments[0] & ~UInt64(Self.cloneUntraced)])
            case .clone3:
                return try clone3(arguments: arguments, memory: memory, pid: pid)

            case .chroot, .pivot_root, .unshare, .setns:
                ownership?.noteRootsMayDiffer()
                return .passThrough

            case .access, .faccessat, .faccessat2, .execve, .execveat:
                try checkPathPermission(entry.syscall, arguments: arguments, credentials: credentials, memory: memory, pid: pid)
                return .passThrough

            case .open, .openat, .openat2, .creat:
                try checkPathPermission(entry.syscall, arguments: arguments, credentials: credentials, memory: memory, pid: pid)
                guard let ownership else { return .passThrough }
                let context = FileCallContext(pid: pid, memory: memory, credentials: credentials, store: ownership, handlers: self)
                return try context.handle(entry, arguments: arguments, statLayout: statLayout)

            case .mkdir, .mkdirat, .symlink, .symlinkat,
                 .mknod, .mknodat, .stat, .fstat, .lstat, .newfstatat, .statx,
                 .getxattr, .lgetxattr, .fgetxattr, .listxattr, .llistxattr, .flistxattr:
                guard let ownership else { return .passThrough }
                let context = FileCallContext(pid: pid, memory: memory, credentials: credentials, store: ownership, handlers: self)
                return try context.handle(entry, arguments: arguments, statLayout: statLayout)
            }
            return .answer(.success(0))
        } catch {
            return .answer(.failure(error))
        }
    }

    // MARK: - Id widths

    /// An id argument as the kernel reads it: the low 32 bits, or for a
    /// 16-bit call the low 16 bits with 0xFFFF widened to `(uid_t)-1`
    /// (`low2highuid` in include/linux/highuid.h).
    static func id(fromArgument argument: UInt64, width: IDWidth) -> UInt32 {
        switch width {
        case .bits32:
            return UInt32(truncatingIfNeeded: argument)
        case .bits16:
            let narrow = UInt16(truncatingIfNeeded: argument)
            return narrow == .max ? Credentials.unchanged : UInt32(narrow)
        }
    }

    /// An id as a 16-bit call returns it: ids above 65535 read as the
    /// overflow id 65534 (`high2lowuid`, /proc/sys/kernel/overflowuid).
    static func idResult(_ id: UInt32, width: IDWidth) -> UInt32 {
        switch width {
        case .bits32: return id
        case .bits16: return id > 0xFFFF ? 65534 : id
        }
    }

    static func encode(_ ids: [UInt32], width: IDWidth) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            switch width {
            case .bits32: withUnsafeBytes(of: id) { bytes.append(contentsOf: $0) }
            case .bits16: withUnsafeBytes(of: UInt16(truncatingIfNeeded: idResult(id, width: width))) { bytes.append(contentsOf: $0) }
            }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8], width: IDWidth) -> [UInt32] {
        switch width {
        case .bits32:
            return stride(from: 0, to: bytes.count, by: 4).map { offset in
                bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
        case .bits16:
            return stride(from: 0, to: bytes.count, by: 2).map { offset in
                let narrow = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
                return narrow == .max ? Credentials.unchanged : UInt32(narrow)
            }
        }
    }

    static func byteCount(_ width: IDWidth) -> Int {
        width == .bits32 ? 4 : 2
    }

    // MARK: - Calls that touch memory

    /// getresuid and getresgid store the three ids one by one and stop at
    /// the first pointer that faults, as the kernel's put_user sequence does.
    static func writeIDs(_ ids: [UInt32], to addresses: [UInt64], width: IDWidth, memory: TraceeMemory) throws(Errno) {
        for (id, address) in zip(ids, addresses) {
            try memory.write(encode([id], width: width), at: address)
        }
    }

    /// `getgroups(2)`: a negative size is EINVAL, size 0 returns the count
    /// without touching memory, a smaller one than the count is EINVAL.
    static func getGroups(_ groups: [UInt32], size: Int32, list: UInt64, width: IDWidth, memory: TraceeMemory) throws(Errno) -> Int {
        guard size >= 0 else { throw .invalidArgument }
        if size != 0 {
            guard groups.count <= Int(size) else { throw .invalidArgument }
            try memory.write(encode(groups, width: width), at: list)
        }
        return groups.count
    }

    /// `setgroups(2)`: EPERM without CAP_SETGID, EINVAL above
    /// `NGROUPS_MAX`, EFAULT for an unreadable list, EINVAL for an invalid
    /// gid, in that order.
    static func setGroups(size: Int32, list: UInt64, width: IDWidth, credentials: inout Credentials, memory: TraceeMemory) throws(Errno) {
        try credentials.checkSetGroups(count: size)
        let stride = byteCount(width)
        do {
            let bytes = try memory.read(at: list, count: Int(size) * stride)
            try credentials.setGroups(decode(bytes, width: width))
        } catch .badAddress {
            // The kernel's groups_from_user reads and checks one gid at a
            // time, so an invalid gid before the fault is EINVAL.
            for index in 0..<Int(size) {
                let gid = decode(try memory.read(at: list + UInt64(index * stride), count: stride), width: width)[0]
                guard gid != Credentials.unchanged else { throw .invalidArgument }
            }
            throw .badAddress
        }
    }

    // MARK: - clone

    /// `CLONE_UNTRACED` from <linux/sched.h>.
    public static let cloneUntraced: UInt32 = 0x0080_0000

    /// clone3 keeps its flags in memory, where the filter cannot look, so
    /// every clone3 stops. One asking for CLONE_UNTRACED is answered ENOSYS,
    /// on which glibc falls back to clone(2), whose flag remainroot removes.
    private func clone3(arguments: [UInt64], memory: TraceeMemory, pid: ProcessID) throws(Errno) -> SyscallAction {
        // struct clone_args starts with its 64-bit flags.
        guard let bytes = try? memory.read(at: arguments[0], count: 8) else { return .passThrough }
        let flags = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard flags & UInt64(Self.cloneUntraced) != 0 else { return .passThrough }
        logger.logGapOnce("clone3-untraced", pid: pid,
            "clone3 with CLONE_UNTRACED is answered ENOSYS so that the child stays traced; glibc then uses clone")
        throw .functionNotImplemented
    }

    // MARK: - Capabilities

    /// `_LINUX_CAPABILITY_VERSION_1`, `_2` and `_3` from
    /// <linux/capability.h>.
    static let capabilityVersion1: UInt32 = 0x1998_0330
    static let capabilityVersion2: UInt32 = 0x2007_1026
    static let capabilityVersion3: UInt32 = 0x2008_0522

    /// `cap_validate_magic` in kernel/capability.c: the number of 32-bit
    /// words each set has in the program's data (1 for version 1, 2 after).
    /// An unknown version is EINVAL, after the kernel's own version was
    /// written back into the header so the program can retry with it.
    static func validateCapabilityVersion(header: UInt64, memory: TraceeMemory) throws(Errno) -> Int {
        let version = try readUInt32(at: header, memory: memory)
        switch version {
        case capabilityVersion1:
            return 1
        case capabilityVersion2, capabilityVersion3:
            return 2
        default:
            try memory.write(encode([capabilityVersion3], width: .bits32), at: header)
            throw .invalidArgument
        }
    }

    static func readUInt32(at address: UInt64, memory: TraceeMemory) throws(Errno) -> UInt32 {
        decode(try memory.read(at: address, count: 4), width: .bits32)[0]
    }

    /// `capget(2)`: a NULL data pointer only probes the version (an unknown
    /// one then returns 0), a negative pid is EINVAL, and pid 0 or the
    /// caller's own thread id means the caller.
    private func capabilityGet(header: UInt64, data: UInt64, credentials: Credentials, memory: TraceeMemory, pid: ProcessID, credentialsOfThread: (ProcessID) -> Credentials?) throws(Errno) -> SyscallAction {
        let words: Int
        do {
            words = try Self.validateCapabilityVersion(header: header, memory: memory)
        } catch {
            if data == 0 && error == .invalidArgument { return .answer(.success(0)) }
            throw error
        }
        if data == 0 { return .answer(.success(0)) }

        let target = Int32(bitPattern: try Self.readUInt32(at: header + 4, memory: memory))
        guard target >= 0 else { throw .invalidArgument }
        var source = credentials
        if target != 0 && target != pid.rawValue {
            // A process remainroot does not trace has real capabilities,
            // which the kernel reports (or ESRCH when it does not exist).
            guard let other = credentialsOfThread(ProcessID(target)) else { return .passThrough }
            source = other
        }

        var values: [UInt32] = []
        for word in 0..<words {
            for set in [source.effective, source.permitted, source.inheritable] {
                values.append(UInt32(truncatingIfNeeded: set.rawValue >> (32 * UInt64(word))))
            }
        }
        try memory.write(Self.encode(values, width: .bits32), at: data)
        return .answer(.success(0))
    }

    /// `capset(2)`: only the calling thread (pid 0 or its own id, else
    /// EPERM); bits above the last capability are ignored.
    private func capabilitySet(header: UInt64, data: UInt64, credentials: inout Credentials, memory: TraceeMemory, pid: ProcessID) throws(Errno) {
        let words = try Self.validateCapabilityVersion(header: header, memory: memory)
        let target = Int32(bitPattern: try Self.readUInt32(at: header + 4, memory: memory))
        guard target == 0 || target == pid.rawValue else { throw .notPermitted }

        let values = Self.decode(try memory.read(at: data, count: words * 12), width: .bits32)
        let valid = CapabilitySet.full(lastCapability: lastCapability)
        func set(_ index: Int) -> CapabilitySet {
            let low = UInt64(values[index])
            let high = words == 2 ? UInt64(values[3 + index]) << 32 : 0
            return CapabilitySet(rawValue: low | high).intersection(valid)
        }
        try credentials.setCapabilities(effective: set(0), permitted: set(1), inheritable: set(2))
    }

    // MARK: - chown

    /// Handles the chown family. An id the namespace maps goes to the kernel
    /// as it is. An unmapped one, which the kernel would reject with EINVAL,
    /// becomes -1 ("unchanged"). The kernel still checks the path, the
    /// descriptor, the flags and the permissions, and returns its own error
    /// where there is one.
    func chownWithoutRecords(uidIndex: Int, arguments: [UInt64], width: IDWidth, credentials: Credentials, pid: ProcessID) -> SyscallAction {
        let gidIndex = uidIndex + 1
        let uid = Self.id(fromArgument: arguments[uidIndex], width: width)
        let gid = Self.id(fromArgument: arguments[gidIndex], width: width)
        let unchangedArgument: UInt64 = width == .bits32 ? 0xFFFF_FFFF : 0xFFFF

        if !credentials.isCapable(CapabilitySet.chown) && (uid != Credentials.unchanged || gid != Credentials.unchanged) {
            // TODO: check the kernel's chown_ok and chgrp_ok against the
            // file's owner; that needs the owner remainroot recorded.
            logger.logGapOnce("chown-without-CAP_CHOWN", pid: pid,
                "chown by a task without CAP_CHOWN is checked with the namespace root's rights, not the task's")
        }

        var replaced: [Int: UInt64] = [:]
        if uid != Credentials.unchanged && !userMapping.maps(uid) {
            replaced[uidIndex] = unchangedArgument
        }
        if gid != Credentials.unchanged && !groupMapping.maps(gid) {
            replaced[gidIndex] = unchangedArgument
        }
        return replaced.isEmpty ? .passThrough : .rewriteArguments(replaced)
    }
}
