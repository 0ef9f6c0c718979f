/// One system call that remainroot handled, for `remainroot --trace`. The
/// engine builds records only while a ``TraceSink`` is set, and never
/// formats them.
public struct TraceRecord: Sendable, Equatable {
    /// The thread that made the call.
    public let pid: ProcessID
    public let entry: SyscallEntry
    /// The arguments as the program passed them. Memory the call fills in
    /// (getresuid's ids, capget's sets) is read after the call.
    public let arguments: [TraceArgument]
    public let disposition: TraceDisposition
    /// The result the program receives. For a call with a follow-up at the
    /// exit stop (``TraceDisposition/passedToKernel(replaced:followUp:)``),
    /// the kernel's result before that follow-up ran.
    public let result: SyscallResult

    public init(pid: ProcessID, entry: SyscallEntry, arguments: [TraceArgument], disposition: TraceDisposition, result: SyscallResult) {
        self.pid = pid
        self.entry = entry
        self.arguments = arguments
        self.disposition = disposition
        self.result = result
    }
}

/// The origin of a call's result: remainroot or the kernel.
public enum TraceDisposition: Sendable, Equatable {
    /// remainroot produced the result, and the kernel never ran the call.
    case faked
    /// The kernel ran the call, with the arguments in `replaced` (by
    /// position; empty for none) changed first. `followUp` is what
    /// remainroot did at the exit stop, such as patching the owner into a
    /// stat buffer.
    case passedToKernel(replaced: [Int: TraceArgument], followUp: ExitTask?)
}

/// A decoded system-call argument.
public enum TraceArgument: Sendable, Equatable {
    /// A count or other plain number.
    case integer(Int64)
    /// A bit mask, shown in hexadecimal.
    case flags(UInt64)
    /// A uid or gid; `(uid_t)-1` is ``Credentials/unchanged``.
    case id(UInt32)
    /// Ids read from the program's memory.
    case ids([UInt32])
    /// A path's bytes read from the program's memory, without the final
    /// NUL, cut at ``TraceDecoder/maximumPathLength`` bytes.
    case path([UInt8], truncated: Bool)
    /// A file descriptor, or `AT_FDCWD` (-100).
    case fileDescriptor(Int32)
    /// A file mode (type and permission bits), shown in octal.
    case mode(UInt32)
    /// An address whose contents were not read: NULL, unreadable, or an
    /// output the call did not fill in because it failed.
    case pointer(UInt64)
    /// A `struct __user_cap_header_struct`.
    case capabilityHeader(version: UInt32, pid: Int32)
    /// The three sets of a `struct __user_cap_data_struct` array.
    case capabilitySets(effective: CapabilitySet, permitted: CapabilitySet, inheritable: CapabilitySet)
    /// prctl(2)'s first argument.
    case prctlOption(PrctlOption)
}

/// Receives the records of `remainroot --trace`. Called on the worker thread
/// that handled the call, while the tracee is stopped, so a sink shared by
/// several workers must be safe to call from several threads at once.
public protocol TraceSink: AnyObject {
    func record(_ record: TraceRecord)
}

/// A call the kernel runs, whose record waits for the result at the
/// syscall-exit stop.
struct PendingTrace {
    let entry: SyscallEntry
    let arguments: [UInt64]
    let replaced: [Int: UInt64]
    let followUp: ExitTask?
}

/// Decodes the arguments of the trapped calls for trace records.
public enum TraceDecoder {
    /// The display form of one argument.
    enum Layout {
        case id
        /// An id the call stores at this address.
        case outputID
        case integer
        /// A count of the ids at the next argument, which the call reads.
        case inputIDCount
        /// A capacity for the ids at the next argument, which the call
        /// stores; the result is how many.
        case outputIDCount
        case path
        /// A NUL-terminated string other than a path, such as an extended
        /// attribute's name.
        case string
        case fileDescriptor
        case flags
        case mode
        /// A buffer whose contents the record leaves out (a stat buffer).
        case address
        case capabilityHeader
        case inputCapabilitySets
        case outputCapabilitySets
        case prctlOption
    }

    /// The longest path a record shows, in bytes.
    public static let maximumPathLength = 4096

    /// The layouts of the trapped calls. The ids list of getgroups and
    /// setgroups, and prctl's arguments after the option, are decoded with
    /// the argument before them.
    static let layouts: [Syscall: [Layout]] = [
        .getuid: [], .geteuid: [], .getgid: [], .getegid: [],
        .getresuid: [.outputID, .outputID, .outputID],
        .getresgid: [.outputID, .outputID, .outputID],
        .getgroups: [.outputIDCount],
        .setuid: [.id], .setgid: [.id], .setfsuid: [.id], .setfsgid: [.id],
        .setreuid: [.id, .id], .setregid: [.id, .id],
        .setresuid: [.id, .id, .id], .setresgid: [.id, .id, .id],
        .setgroups: [.inputIDCount],
        .capget: [.capabilityHeader, .outputCapabilitySets],
        .capset: [.capabilityHeader, .inputCapabilitySets],
        .prctl: [.prctlOption],
        .chown: [.path, .id, .id],
        .lchown: [.path, .id, .id],
        .fchown: [.fileDescriptor, .id, .id],
        .fchownat: [.fileDescriptor, .path, .id, .id, .flags],
        .mknod: [.path, .mode, .flags],
        .mknodat: [.fileDescriptor, .path, .mode, .flags],
        .stat: [.path, .address],
        .lstat: [.path, .address],
        .fstat: [.fileDescriptor, .address],
        .newfstatat: [.fileDescriptor, .path, .address, .flags],
        .statx: [.fileDescriptor, .path, .flags, .flags, .address],
        .getxattr: [.path, .string, .address, .integer],
        .lgetxattr: [.path, .string, .address, .integer],
        .fgetxattr: [.fileDescriptor, .string, .address, .integer],
        .listxattr: [.path, .address, .integer],
        .llistxattr: [.path, .address, .integer],
        .flistxattr: [.fileDescriptor, .address, .integer],
        .chroot: [.path],
        .pivot_root: [.path, .path],
        .unshare: [.flags],
        .setns: [.fileDescriptor, .flags],
        .seccomp: [.integer, .flags, .address],
        .ptrace: [.integer, .integer, .address, .address],
        // The order of clone's last three arguments differs between CPUs,
        // but all three are addresses.
        .clone: [.flags, .address, .address, .address, .address],
        .clone3: [.address, .integer],
        .open: [.path, .flags, .mode],
        .openat: [.fileDescriptor, .path, .flags, .mode],
        .openat2: [.fileDescriptor, .path, .address, .integer],
        .creat: [.path, .mode],
        .mkdir: [.path, .mode],
        .mkdirat: [.fileDescriptor, .path, .mode],
        .symlink: [.path, .path],
        .symlinkat: [.path, .fileDescriptor, .path],
        .access: [.path, .flags],
        .faccessat: [.fileDescriptor, .path, .flags],
        .faccessat2: [.fileDescriptor, .path, .flags, .flags],
        // A record of a call the kernel ran is decoded at its exit stop,
        // and by then a successful execve has replaced the memory the path
        // was in. So the path shows as an address.
        .execve: [.address, .address, .address],
        .execveat: [.fileDescriptor, .address, .address, .address, .flags],
    ]

    /// Decodes the arguments of a call whose result is known. Call while
    /// the tracee is stopped, after the call: at the seccomp stop for a
    /// faked call, at the exit stop for one the kernel ran.
    public static func arguments(of entry: SyscallEntry, _ raw: [UInt64], result: SyscallResult, memory: TraceeMemory) -> [TraceArgument] {
        guard let layout = layouts[entry.syscall] else {
            // NOTE: a call added to Syscall without a layout here is shown
            // with six raw hexadecimal arguments.
            return raw.map { .flags($0) }
        }
        let width = entry.idWidth
        let succeeded: Bool
        if case .success = result { succeeded = true } else { succeeded = false }

        var decoded: [TraceArgument] = []
        for (index, kind) in layout.enumerated() {
            let value = raw[index]
            switch kind {
            case .id, .integer, .fileDescriptor, .flags, .mode, .address:
                decoded.append(plain(value, as: kind, width: width))
            case .outputID:
                decoded.append(succeeded ? readIDs(at: value, count: 1, width: width, memory: memory) : .pointer(value))
            case .inputIDCount:
                let count = Int32(truncatingIfNeeded: value)
                decoded.append(.integer(Int64(count)))
                let fits = count >= 0 && Int(count) <= Credentials.maximumGroupCount
                decoded.append(fits ? readIDs(at: raw[index + 1], count: Int(count), width: width, memory: memory) : .pointer(raw[index + 1]))
            case .outputIDCount:
                let capacity = Int32(truncatingIfNeeded: value)
                decoded.append(.integer(Int64(capacity)))
                if capacity > 0, case .success(let count) = result {
                    decoded.append(readIDs(at: raw[index + 1], count: Int(count), width: width, memory: memory))
                } else {
                    decoded.append(.pointer(raw[index + 1]))
                }
            case .path, .string:
                decoded.append(readPath(at: value, memory: memory))
            case .capabilityHeader:
                decoded.append(readCapabilityHeader(at: value, memory: memory))
            case .inputCapabilitySets:
                decoded.append(readCapabilitySets(at: value, header: raw[0], memory: memory))
            case .outputCapabilitySets:
                decoded.append(succeeded ? readCapabilitySets(at: value, header: raw[0], memory: memory) : .pointer(value))
            case .prctlOption:
                decoded.append(contentsOf: prctlArguments(raw))
            }
        }
        return decoded
    }

    /// Decodes a replaced argument as the kernel saw it.
    static func replacement(_ value: UInt64, at index: Int, of entry: SyscallEntry) -> TraceArgument {
        guard let layout = layouts[entry.syscall], index < layout.count else { return .flags(value) }
        return plain(value, as: layout[index], width: entry.idWidth)
    }

    /// Decodes an argument that is a value in itself, with nothing to read
    /// from memory. Other layouts show as flags.
    private static func plain(_ value: UInt64, as kind: Layout, width: IDWidth) -> TraceArgument {
        switch kind {
        case .id:
            return .id(SyscallHandlers.id(fromArgument: value, width: width))
        case .integer:
            return .integer(Int64(Int32(truncatingIfNeeded: value)))
        case .fileDescriptor:
            return .fileDescriptor(Int32(truncatingIfNeeded: value))
        case .mode:
            return .mode(UInt32(truncatingIfNeeded: value))
        case .address:
            return .pointer(value)
        default:
            return .flags(value)
        }
    }

    // MARK: - Reading the tracee's memory

    private static func readIDs(at address: UInt64, count: Int, width: IDWidth, memory: TraceeMemory) -> TraceArgument {
        guard count > 0 else { return .ids([]) }
        guard let bytes = try? memory.read(at: address, count: count * SyscallHandlers.byteCount(width)) else {
            return .pointer(address)
        }
        return .ids(SyscallHandlers.decode(bytes, width: width))
    }

    /// Reads a NUL-terminated string in 256-byte blocks aligned to 256
    /// bytes. A block never crosses a page boundary, so a path that ends
    /// just before an unmapped page is still read whole.
    private static func readPath(at address: UInt64, memory: TraceeMemory) -> TraceArgument {
        guard address != 0 else { return .pointer(0) }
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < maximumPathLength {
            let blockEnd = (cursor | 0xFF) &+ 1
            let count = min(Int(blockEnd &- cursor), maximumPathLength - bytes.count)
            guard let block = try? memory.read(at: cursor, count: count) else {
                return bytes.isEmpty ? .pointer(address) : .path(bytes, truncated: true)
            }
            if let end = block.firstIndex(of: 0) {
                bytes.append(contentsOf: block[..<end])
                return .path(bytes, truncated: false)
            }
            bytes.append(contentsOf: block)
            cursor = blockEnd
        }
        return .path(bytes, truncated: true)
    }

    private static func readCapabilityHeader(at address: UInt64, memory: TraceeMemory) -> TraceArgument {
        guard let bytes = try? memory.read(at: address, count: 8) else { return .pointer(address) }
        let words = SyscallHandlers.decode(bytes, width: .bits32)
        return .capabilityHeader(version: words[0], pid: Int32(bitPattern: words[1]))
    }

    /// Reads one or two `__user_cap_data_struct`s, as many as the header's
    /// version requires (one for version 1, two after).
    private static func readCapabilitySets(at address: UInt64, header: UInt64, memory: TraceeMemory) -> TraceArgument {
        guard address != 0, let version = try? SyscallHandlers.readUInt32(at: header, memory: memory) else {
            return .pointer(address)
        }
        let words: Int
        switch version {
        case SyscallHandlers.capabilityVersion1: words = 1
        case SyscallHandlers.capabilityVersion2, SyscallHandlers.capabilityVersion3: words = 2
        default: return .pointer(address)
        }
        guard let bytes = try? memory.read(at: address, count: words * 12) else {
            return .pointer(address)
        }
        let values = SyscallHandlers.decode(bytes, width: .bits32)
        func set(_ index: Int) -> CapabilitySet {
            let low = UInt64(values[index])
            let high = words == 2 ? UInt64(values[3 + index]) << 32 : 0
            return CapabilitySet(rawValue: low | high)
        }
        return .capabilitySets(effective: set(0), permitted: set(1), inheritable: set(2))
    }

    /// prctl's option and the arguments that option reads (prctl(2)).
    private static func prctlArguments(_ raw: [UInt64]) -> [TraceArgument] {
        guard let option = PrctlOption(rawValue: UInt32(truncatingIfNeeded: raw[0])) else {
            return raw.prefix(5).map { .flags($0) }
        }
        let used: Int
        switch option {
        case .getKeepCapabilities, .getSecureBits:
            used = 0
        case .setKeepCapabilities, .readBoundingSet, .dropFromBoundingSet:
            used = 1
        case .setSecureBits:
            return [.prctlOption(option), .flags(raw[1])]
        case .ambientCapabilities:
            used = 2
        }
        return [.prctlOption(option)] + raw[1..<(1 + used)].map { .integer(Int64(bitPattern: $0)) }
    }
}

extension Tracer {
    /// Emits the record of a faked call at once, and keeps the record
    /// of a call the kernel runs until its exit stop. Call at the seccomp
    /// stop, after the handler ran.
    func traceHandledCall(_ tracee: Tracee<Backend>, _ entry: SyscallEntry, arguments: [UInt64], action: SyscallAction, sink: any TraceSink) {
        switch action {
        case .answer(let result):
            let decoded = TraceDecoder.arguments(of: entry, arguments, result: result, memory: ProcessMemory(pid: tracee.pid))
            sink.record(TraceRecord(pid: tracee.pid, entry: entry, arguments: decoded, disposition: .faked, result: result))
        case .passThrough:
            tracee.pendingTrace = PendingTrace(entry: entry, arguments: arguments, replaced: [:], followUp: nil)
        case .rewriteArguments(let replaced):
            tracee.pendingTrace = PendingTrace(entry: entry, arguments: arguments, replaced: replaced, followUp: nil)
        case .inspectResult(let task):
            tracee.pendingTrace = PendingTrace(entry: entry, arguments: arguments, replaced: [:], followUp: task)
        case .rewriteArgumentsThenInspect(let replaced, let task):
            tracee.pendingTrace = PendingTrace(entry: entry, arguments: arguments, replaced: replaced, followUp: task)
        }
    }

    /// Emits the record of a call the kernel ran. Call at its exit stop,
    /// before the call's follow-up runs.
    func traceKernelResult(_ trace: PendingTrace, of pid: ProcessID, result: SyscallResult, sink: any TraceSink) {
        let decoded = TraceDecoder.arguments(of: trace.entry, trace.arguments, result: result, memory: ProcessMemory(pid: pid))
        // A replacement equal to the program's own value (clone without
        // CLONE_UNTRACED) changed nothing worth showing.
        var passed: [Int: TraceArgument] = [:]
        for (index, value) in trace.replaced where value != trace.arguments[index] {
            passed[index] = TraceDecoder.replacement(value, at: index, of: trace.entry)
        }
        let disposition = TraceDisposition.passedToKernel(replaced: passed, followUp: trace.followUp)
        sink.record(TraceRecord(pid: pid, entry: trace.entry, arguments: decoded, disposition: disposition, result: result))
    }
}
