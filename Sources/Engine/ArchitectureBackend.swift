/// Everything remainroot needs to know about one CPU. The engine is generic
/// over this protocol and contains no `#if arch`. Adding a CPU means one new
/// module whose type conforms to it, and one line where the CLI picks the
/// host's backend; PORTING.md lists the kernel facts to look up and the
/// tests that show when a port is done.
///
/// Every requirement is called only by the worker thread that owns the
/// stopped tracee whose registers are passed in, and only at the stop named
/// in its documentation. None of them performs a system call except
/// ``cancelSyscall(in:registerSets:)``.
public protocol ArchitectureBackend: Sendable {
    /// The general registers of a stopped tracee, decoded from the bytes
    /// that `PTRACE_GETREGSET` with `NT_PRSTATUS` returns.
    associatedtype Registers: Equatable & Sendable

    /// The machine name, as `uname -m` prints it.
    var machineName: String { get }

    /// The size in bytes of the largest `NT_PRSTATUS` register set a tracee
    /// of this CPU can have. The engine offers a buffer of this size to
    /// `PTRACE_GETREGSET`, and the kernel returns the length it filled.
    var registerSetSize: Int { get }

    /// Decodes the register set of a stopped tracee. `bytes.count` is the
    /// length the kernel filled, which the kernel takes from the tracee's
    /// mode (arch/x86/kernel/ptrace.c, `task_user_regset_view`): a 32-bit
    /// task on a 64-bit CPU has a shorter set, such as x86_64's 68-byte
    /// `user_regs_struct32` for i386 tasks. Returns nil for a length the
    /// backend does not know.
    func decodeRegisters(_ bytes: UnsafeRawBufferPointer) -> Registers?

    /// The bytes `PTRACE_SETREGSET` writes back: the layout and length that
    /// ``decodeRegisters(_:)`` read.
    func encodeRegisters(_ registers: Registers) -> [UInt8]

    /// Returns the number of leading bytes of ``encodeRegisters(_:)`` that
    /// hold every register the engine changes at a syscall stop: the number,
    /// the arguments and the result. The engine writes only these, because
    /// the kernel checks and stores each register it is given, and on x86_64
    /// the segment and base registers that follow are the costly ones. The
    /// count is a multiple of one register's size, as `PTRACE_SETREGSET`
    /// requires. The default, `Int.max`, writes the whole set.
    func syscallRegisterByteCount(of registers: Registers) -> Int

    /// Returns the words that differ between `original` and `modified`,
    /// each with its offset in the USER area, for `PTRACE_POKEUSER`, or
    /// nil when this CPU, or the tracee's mode, takes its general registers
    /// only through `PTRACE_SETREGSET`. The engine pokes a change of one or
    /// two words, such as an answered call's number and result, because
    /// the kernel's regset write reads and checks every register it is
    /// given. The default is nil.
    func changedRegisterWords(from original: Registers, to modified: Registers) -> [(offset: UInt, value: UInt64)]?

    /// The system-call ABIs this CPU runs, the native one first. The seccomp
    /// filter traps calls of these ABIs only; a call of any other ABI is
    /// allowed and left to the kernel.
    var abis: [SyscallABI] { get }

    /// The position in ``abis`` of the ABI of the stopped call, or nil for a
    /// call of an ABI the backend does not shim. Call at a syscall stop.
    func abiIndex(of registers: Registers) -> Int?

    /// The raw system-call number. Call at a syscall-entry or seccomp stop.
    func syscallNumber(of registers: Registers) -> Int64

    /// Argument `index` (0...5) as the kernel reads it, zero-extended.
    /// Call at the entry stop; at the exit stop the first argument of some
    /// CPUs has been overwritten by the result.
    func argument(_ index: Int, of registers: Registers) -> UInt64

    /// Replaces argument `index` (0...5). Call at the entry stop.
    func setArgument(_ index: Int, to value: UInt64, in registers: inout Registers)

    /// Copies back the argument registers that the kernel preserves across
    /// a call, from the entry image to the exit image, leaving the result
    /// alone. Call at the exit stop, after arguments were rewritten at entry.
    func restoreArguments(from entry: Registers, into exit: inout Registers)

    /// The result of a finished call. Call at the exit stop.
    func result(of registers: Registers) -> SyscallResult

    /// Writes the value or error the program will see, in this CPU's
    /// encoding. Call where ``cancelledResultStop`` says.
    func setResult(_ result: SyscallResult, in registers: inout Registers)

    /// The stop at which the result of a cancelled call must be written.
    var cancelledResultStop: ResultStop { get }

    /// Makes the kernel skip the call. Call at the seccomp stop; the engine
    /// writes `registers` back afterwards. A CPU whose number lives outside
    /// the general registers (AArch64's `NT_ARM_SYSTEM_CALL`) writes it
    /// through `registerSets` here.
    func cancelSyscall(in registers: inout Registers, registerSets: RegisterSetAccess) throws(TraceError)

    /// Makes the kernel run the call `number` of the stopped call's ABI in
    /// place of the one the program made, with the arguments the registers
    /// then hold. Call at the seccomp stop; the engine writes `registers`
    /// back afterwards. The kernel checks the new call against the seccomp
    /// filters again but stops no more for it (`__seccomp_filter`,
    /// kernel/seccomp.c, Linux 4.8).
    func setSyscallNumber(_ number: Int64, in registers: inout Registers, registerSets: RegisterSetAccess) throws(TraceError)

    /// The number of bytes below the stack pointer that the ABI lets a
    /// function use without moving the pointer (the x86_64 red zone). The
    /// engine writes into a stopped tracee's stack only below them.
    var redZoneSize: Int { get }

    /// A copy of the registers of a thread stopped on its way back from a
    /// system call, changed so that once resumed the thread enters a call
    /// that takes no memory argument and returns only for a signal it has
    /// not blocked: pause, or ppoll with no descriptors and no timeout on
    /// an ABI without pause. The engine blocks every signal first, so the
    /// thread stays in that call while it is handed to another worker, and
    /// writes the original registers back at its next stop. The kernel
    /// then restarts nothing, because the original result register holds
    /// no restart code. nil when the thread did not stop in a system call
    /// or its ABI has no such call. Call at the first stop of a new child,
    /// a `PTRACE_EVENT_STOP` after fork, vfork or clone returned 0 in it.
    func parkedRegisters(_ registers: Registers) -> Registers?

    /// Returns the machine code of the instruction that makes a system call
    /// in the stopped thread's ABI (x86_64's `syscall`, i386's `int $0x80`),
    /// or nil for an ABI the backend does not shim. Call at any stop.
    func syscallInstruction(for registers: Registers) -> [UInt8]?

    /// A copy of `registers` changed so that, once resumed, the thread
    /// executes the instruction of ``syscallInstruction(for:)`` that the
    /// engine wrote at `address`, as call `number` of its ABI with
    /// `arguments` (at most six). The engine writes the whole register set
    /// back. Call at a syscall-exit stop, because there the kernel has
    /// already stored the result and returns to the program with these
    /// registers. At the execve event stop the kernel would still overwrite
    /// the result register. nil for an ABI without ``syscallInstruction(for:)``.
    func injectedSyscallRegisters(_ registers: Registers, number: Int64, arguments: [UInt64], at address: UInt64) -> Registers?

    /// The program counter, for crash reports and invariant messages.
    func instructionPointer(of registers: Registers) -> UInt64

    /// The stack pointer, for crash reports and invariant messages.
    func stackPointer(of registers: Registers) -> UInt64
}

extension ArchitectureBackend {
    public func syscallRegisterByteCount(of registers: Registers) -> Int {
        Int.max
    }

    public func changedRegisterWords(from original: Registers, to modified: Registers) -> [(offset: UInt, value: UInt64)]? {
        nil
    }
}

extension ArchitectureBackend where Registers: BitwiseCopyable {
    /// A backend whose tracees all have one register layout keeps it in a
    /// struct with the kernel's size and field order, and transfers the
    /// struct's bytes as they are.
    public var registerSetSize: Int { MemoryLayout<Registers>.size }

    public func decodeRegisters(_ bytes: UnsafeRawBufferPointer) -> Registers? {
        guard bytes.count == MemoryLayout<Registers>.size else { return nil }
        return bytes.loadUnaligned(as: Registers.self)
    }

    public func encodeRegisters(_ registers: Registers) -> [UInt8] {
        withUnsafeBytes(of: registers) { Array($0) }
    }
}

/// Where a cancelled call's result is written.
public enum ResultStop: Sendable {
    /// At the seccomp stop, together with the cancellation (x86_64, AArch64).
    case entry
    /// At the syscall-exit stop, because the kernel overwrites the result
    /// register after a skip (PPC64LE puts `-ENOSYS` in r3).
    case exit
}

/// Writes a register set other than `NT_PRSTATUS` of the stopped tracee.
public protocol RegisterSetAccess {
    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError)
}

/// One system-call ABI of a CPU: its seccomp audit arch and its numbers.
public struct SyscallABI: Sendable {
    /// The name `remainroot syscalls --arch` accepts, such as `x86_64`.
    public let name: String

    /// `AUDIT_ARCH_*` from `<linux/audit.h>`, which the kernel puts in
    /// `seccomp_data.arch`.
    public let auditArch: UInt32

    /// The answered calls by number. Numbers outside this table are never
    /// trapped.
    public let syscalls: [Int64: SyscallEntry]

    /// Numbers at or above this belong to another ABI that shares the audit
    /// arch (x86_64's x32 calls carry bit 30) and are left to the kernel.
    public let foreignNumberFloor: Int64?

    /// Where the fields remainroot rewrites lie in this ABI's `struct
    /// stat`, the one its stat, fstat, lstat and newfstatat fill. nil when
    /// the ABI's stat calls are not answered.
    public let statLayout: StatLayout?

    /// The size in bytes of a pointer, and of each word of the initial
    /// stack (argc, argv, envp, auxv) that execve builds.
    public let wordSize: Int

    public init(name: String, auditArch: UInt32, syscalls: [Int64: SyscallEntry], foreignNumberFloor: Int64? = nil, statLayout: StatLayout? = nil, wordSize: Int = 8) {
        self.name = name
        self.auditArch = auditArch
        self.syscalls = syscalls
        self.foreignNumberFloor = foreignNumberFloor
        self.statLayout = statLayout
        self.wordSize = wordSize
    }

    /// The name of a call in this ABI's kernel table (`__NR_<name>`). Where
    /// an ABI has both widths of an id call, the 16-bit one keeps the plain
    /// name and the 32-bit one ends in 32 (i386's `setuid` and `setuid32`).
    public func kernelName(of entry: SyscallEntry) -> String {
        let name = entry.syscall.rawValue
        guard entry.idWidth == .bits32 else { return name }
        let hasNarrowTwin = syscalls.values.contains { $0.syscall == entry.syscall && $0.idWidth == .bits16 }
        return hasNarrowTwin ? name + "32" : name
    }

    /// Builds the table from the names a backend lists, checking that no
    /// number is given twice.
    public init(name: String, auditArch: UInt32, numbers: [(Int64, SyscallEntry)], foreignNumberFloor: Int64? = nil, statLayout: StatLayout? = nil, wordSize: Int = 8) {
        var table: [Int64: SyscallEntry] = [:]
        for (number, entry) in numbers {
            precondition(table[number] == nil, "\(name): syscall number \(number) listed twice")
            table[number] = entry
        }
        self.init(name: name, auditArch: auditArch, syscalls: table, foreignNumberFloor: foreignNumberFloor, statLayout: statLayout, wordSize: wordSize)
    }

    /// The same ABI with only the calls `include` accepts.
    public func filtered(_ include: (Syscall) -> Bool) -> SyscallABI {
        SyscallABI(name: name, auditArch: auditArch, syscalls: syscalls.filter { include($0.value.syscall) }, foreignNumberFloor: foreignNumberFloor, statLayout: statLayout, wordSize: wordSize)
    }
}

/// The offset and width in bytes of each `struct stat` field remainroot
/// reads or rewrites, as the CPU's asm/stat.h lays them out.
public struct StatLayout: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public let offset: Int
        public let width: Int

        public init(offset: Int, width: Int) {
            self.offset = offset
            self.width = width
        }
    }

    public let device: Field
    public let inode: Field
    public let mode: Field
    public let uid: Field
    public let gid: Field
    public let rdev: Field

    public init(device: Field, inode: Field, mode: Field, uid: Field, gid: Field, rdev: Field) {
        self.device = device
        self.inode = inode
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
    }
}

/// A call remainroot answers, with the width of the ids it passes.
public struct SyscallEntry: Sendable, Hashable {
    public let syscall: Syscall
    public let idWidth: IDWidth

    public init(_ syscall: Syscall, idWidth: IDWidth = .bits32) {
        self.syscall = syscall
        self.idWidth = idWidth
    }

    /// When a seccomp filter made for `scope` stops the call: nil for a
    /// call the filter leaves to the kernel whatever its arguments.
    ///
    /// For a thread whose emulated credentials equal the kernel's, the
    /// kernel's own result of a read, and of a set*id call that names only
    /// the ids the thread already has, is the emulated result, so those
    /// calls do not stop. setgroups (which the kernel refuses after "deny"
    /// was written to /proc/PID/setgroups), capset and the writing prctl
    /// options stop in every scope.
    public func stopCondition(in scope: FilterScope) -> StopCondition? {
        switch (syscall, scope) {
        case (.getuid, .matchingCredentials), (.geteuid, .matchingCredentials), (.getgid, .matchingCredentials),
             (.getegid, .matchingCredentials), (.getresuid, .matchingCredentials), (.getresgid, .matchingCredentials),
             (.getgroups, .matchingCredentials), (.capget, .matchingCredentials):
            return nil

        case (.setuid, .matchingCredentials(let uid, _)), (.setreuid, .matchingCredentials(let uid, _)),
             (.setresuid, .matchingCredentials(let uid, _)), (.setfsuid, .matchingCredentials(let uid, _)):
            return idCondition(passing: uid)
        case (.setgid, .matchingCredentials(_, let gid)), (.setregid, .matchingCredentials(_, let gid)),
             (.setresgid, .matchingCredentials(_, let gid)), (.setfsgid, .matchingCredentials(_, let gid)):
            return idCondition(passing: gid)

        case (.prctl, .matchingCredentials):
            // PR_CAP_AMBIENT reads with PR_CAP_AMBIENT_IS_SET only.
            let writes = PrctlOption.allCases.filter { $0.changesCredentials && $0 != .ambientCapabilities }.map(\.rawValue) + [PrctlOption.setSeccomp]
            let ambientChange = [ArgumentComparison(0, .equals(PrctlOption.ambientCapabilities.rawValue)),
                                 ArgumentComparison(1, .differs(PrctlOption.ambientIsSet))]
            return .any(writes.map { [ArgumentComparison(0, .equals($0))] } + [ambientChange])
        case (.prctl, .differingCredentials):
            let options = PrctlOption.allCases.map(\.rawValue) + [PrctlOption.setSeccomp]
            return .any(options.map { [ArgumentComparison(0, .equals($0))] })

        case (.clone, _):
            return .any([[ArgumentComparison(0, .anyBit(SyscallHandlers.cloneUntraced))]])
        case (.open, .matchingCredentials), (.open, .differingCredentials(checksPaths: false)):
            return .any([[ArgumentComparison(1, .anyBit(OpenFlags.creating))]])
        case (.openat, .matchingCredentials), (.openat, .differingCredentials(checksPaths: false)):
            return .any([[ArgumentComparison(2, .anyBit(OpenFlags.creating))]])
        default:
            return .always
        }
    }

    /// Stops a set*id call unless each of its id arguments is `passing` or
    /// the "unchanged" value -1 (0xFFFF for a 16-bit call). The filter
    /// compares the low 32 bits, and the kernel reads no more of a uid_t.
    /// A 16-bit call whose upper bits are set stops, which is safe.
    private func idCondition(passing id: UInt32?) -> StopCondition {
        let unchanged: UInt32 = idWidth == .bits16 ? 0xFFFF : Credentials.unchanged
        let passing = id.flatMap { idWidth == .bits16 && $0 >= 0xFFFF ? nil : $0 }
        var clauses: [[ArgumentComparison]] = []
        for index in 0..<syscall.idArgumentCount {
            var clause = [ArgumentComparison(index, .differs(unchanged))]
            if let passing {
                clause.append(ArgumentComparison(index, .differs(passing)))
            }
            clauses.append(clause)
        }
        return .any(clauses)
    }
}

/// The threads a seccomp filter is made for.
public enum FilterScope: Sendable, Hashable {
    /// Threads whose emulated credentials equal their kernel credentials.
    /// `uid` and `gid` are the ids in all four kernel uid (or gid) fields,
    /// which set*id calls may name without stopping. Each is nil when the
    /// fields differ or the id is not mapped.
    case matchingCredentials(uid: UInt32?, gid: UInt32?)
    /// Threads whose emulated credentials differ from the kernel's: every
    /// credential call stops, whatever its arguments. With `checksPaths`,
    /// every open stops too, because its permission check is emulated.
    /// Without it the credentials differ in nothing such a check reads,
    /// and an open stops only to create a file.
    case differingCredentials(checksPaths: Bool)

    /// Returns the scope of a thread whose kernel credentials are `real`.
    public static func matching(_ real: Credentials, userMapping: IDMapping, groupMapping: IDMapping) -> FilterScope {
        let uid = [real.euid, real.suid, real.fsuid].allSatisfy { $0 == real.uid } && userMapping.maps(real.uid) ? real.uid : nil
        let gid = [real.egid, real.sgid, real.fsgid].allSatisfy { $0 == real.gid } && groupMapping.maps(real.gid) ? real.gid : nil
        return .matchingCredentials(uid: uid, gid: gid)
    }
}

/// When the seccomp filter stops a call it lists.
public enum StopCondition: Sendable, Hashable {
    /// Whatever the arguments.
    case always
    /// When any clause holds; a clause holds when all its comparisons do.
    case any([[ArgumentComparison]])
}

/// A test of the low 32 bits of one argument in the seccomp filter.
public struct ArgumentComparison: Sendable, Hashable {
    public enum Test: Sendable, Hashable {
        case equals(UInt32)
        case differs(UInt32)
        /// Any of these bits is set.
        case anyBit(UInt32)
    }

    public let index: Int
    public let test: Test

    public init(_ index: Int, _ test: Test) {
        self.index = index
        self.test = test
    }

    /// Whether the comparison holds for `argument`, as the filter tests it.
    public func holds(for argument: UInt64) -> Bool {
        let low = UInt32(truncatingIfNeeded: argument)
        switch test {
        case .equals(let value): return low == value
        case .differs(let value): return low != value
        case .anyBit(let bits): return low & bits != 0
        }
    }
}

extension StopCondition {
    /// Whether a call with `arguments` stops, as the filter decides.
    public func stops(_ arguments: [UInt64]) -> Bool {
        switch self {
        case .always:
            return true
        case .any(let clauses):
            return clauses.contains { clause in clause.allSatisfy { $0.holds(for: arguments[$0.index]) } }
        }
    }
}

/// The open(2) flags remainroot reads, from the generic
/// <asm-generic/fcntl.h>, which x86, AArch64 and PowerPC share for these.
public enum OpenFlags {
    public static let create: UInt32 = 0o100            // O_CREAT
    public static let exclusive: UInt32 = 0o200         // O_EXCL
    public static let noFollow: UInt32 = 0o400000       // O_NOFOLLOW
    public static let temporaryFile: UInt32 = 0o20000000 // __O_TMPFILE
    /// The flags with which an open can create a file.
    public static let creating: UInt32 = create | temporaryFile
    /// `O_ACCMODE` and its values `O_RDONLY` and `O_WRONLY`; any other
    /// value opens for reading and writing.
    public static let accessModeMask: UInt32 = 0o3
    public static let readOnly: UInt32 = 0o0
    public static let writeOnly: UInt32 = 0o1
    public static let truncate: UInt32 = 0o1000         // O_TRUNC
    public static let noAccessTime: UInt32 = 0o1000000  // O_NOATIME
    public static let path: UInt32 = 0o10000000         // O_PATH
    /// `O_DIRECTORY` of <asm-generic/fcntl.h>.
    /// NOTE: AArch64 and PowerPC define O_DIRECTORY as 0o40000 and
    /// O_NOFOLLOW as 0o100000 in their own asm/fcntl.h, so these two are
    /// right for x86 only.
    public static let directory: UInt32 = 0o200000
}

/// The prctl(2) options that read or change credentials, from
/// <linux/prctl.h>. Every other option goes to the kernel untouched.
public enum PrctlOption: UInt32, Sendable, CaseIterable {
    case getKeepCapabilities = 7        // PR_GET_KEEPCAPS
    case setKeepCapabilities = 8        // PR_SET_KEEPCAPS
    case readBoundingSet = 23           // PR_CAPBSET_READ
    case dropFromBoundingSet = 24       // PR_CAPBSET_DROP
    case getSecureBits = 27             // PR_GET_SECUREBITS
    case setSecureBits = 28             // PR_SET_SECUREBITS
    case ambientCapabilities = 47       // PR_CAP_AMBIENT

    /// `PR_SET_SECCOMP`, which installs a filter of the program's own. It
    /// changes no credential; remainroot only takes note.
    public static let setSeccomp: UInt32 = 22

    /// `PR_CAP_AMBIENT_IS_SET`, the second argument of the one
    /// PR_CAP_AMBIENT request that only reads.
    public static let ambientIsSet: UInt32 = 1

    /// Whether the option may change the credentials: every one that is
    /// not a plain read. PR_CAP_AMBIENT reads or changes by its second
    /// argument, so it counts here.
    public var changesCredentials: Bool {
        switch self {
        case .getKeepCapabilities, .readBoundingSet, .getSecureBits: return false
        case .setKeepCapabilities, .dropFromBoundingSet, .setSecureBits, .ambientCapabilities: return true
        }
    }
}

/// How wide the uid and gid values of a call are. The 16-bit calls of older
/// ABIs (i386's `setuid`, as opposed to `setuid32`) pass `old_uid_t`, whose
/// `-1` is 0xFFFF.
public enum IDWidth: Sendable, Hashable {
    case bits16
    case bits32
}

/// The system calls remainroot answers, by their generic kernel names.
public enum Syscall: String, Sendable, CaseIterable {
    case getuid, geteuid, getgid, getegid
    case getresuid, getresgid, getgroups
    case setuid, setgid, setreuid, setregid, setresuid, setresgid
    case setfsuid, setfsgid, setgroups
    case capget, capset, prctl
    case chown, fchown, lchown, fchownat
    case mknod, mknodat
    case stat, fstat, lstat, newfstatat, statx
    case getxattr, lgetxattr, fgetxattr, listxattr, llistxattr, flistxattr
    case chroot, pivot_root, unshare, setns
    case seccomp, ptrace, clone, clone3
    case open, openat, openat2, creat, mkdir, mkdirat, symlink, symlinkat
    case access, faccessat, faccessat2, execve, execveat

    /// The calls that only matter when ownership is recorded; with
    /// `--ownership=off` the filter leaves them to the kernel.
    public var isOwnershipCall: Bool {
        switch self {
        case .mknod, .mknodat, .stat, .fstat, .lstat, .newfstatat, .statx,
             .getxattr, .lgetxattr, .fgetxattr, .listxattr, .llistxattr, .flistxattr,
             .chroot, .pivot_root, .unshare, .setns,
             .open, .openat, .openat2, .creat, .mkdir, .mkdirat, .symlink, .symlinkat:
            return true
        default:
            return false
        }
    }

    /// The calls whose result depends on the caller's permission to open,
    /// search or create, which stop for every thread whose emulated
    /// credentials differ from its real ones (see ``PermissionFilter``). The
    /// opens among them also stop for ownership records when they may
    /// create a file.
    public var isPathPermissionCall: Bool {
        switch self {
        case .open, .openat, .openat2, .creat, .access, .faccessat, .faccessat2, .execve, .execveat:
            return true
        default:
            return false
        }
    }

    /// The calls that read or change credentials.
    public var isCredentialCall: Bool {
        switch self {
        case .getuid, .geteuid, .getgid, .getegid, .getresuid, .getresgid, .getgroups,
             .setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid, .setfsuid, .setfsgid, .setgroups,
             .capget, .capset, .prctl:
            return true
        default:
            return false
        }
    }

    /// The number of uid or gid arguments of a set*id call, 0 for any
    /// other call.
    public var idArgumentCount: Int {
        switch self {
        case .setuid, .setgid, .setfsuid, .setfsgid: return 1
        case .setreuid, .setregid: return 2
        case .setresuid, .setresgid: return 3
        default: return 0
        }
    }

    /// What remainroot does with the call, for `remainroot syscalls`.
    public var summary: String {
        switch self {
        case .getuid, .geteuid, .getgid, .getegid, .getresuid, .getresgid, .getgroups:
            return "stops once the thread's emulated credentials differ from its real ones, and returns the emulated ids; before that the kernel's result is the same"
        case .setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid, .setfsuid, .setfsgid, .setgroups:
            return "changes the emulated credentials by the kernel's rules; the kernel's are untouched. While the credentials equal the real ones, a call naming only the real ids or -1 reaches the kernel, where it changes nothing"
        case .capget:
            return "stops once the thread's emulated credentials differ from its real ones, and returns the emulated capability sets"
        case .capset:
            return "changes the emulated capability sets by the kernel's rules"
        case .prctl:
            return "the keep-caps, securebits, bounding-set and ambient options are emulated (the reads only once the credentials differ from the real ones); other options stop nowhere"
        case .chown, .fchown, .lchown, .fchownat:
            return "checked by the kernel's rules for the emulated identity; mapped ids are applied, unmapped ones recorded"
        case .mknod, .mknodat:
            return "a character or block device becomes an empty regular file and its type and number are recorded"
        case .stat, .fstat, .lstat, .newfstatat, .statx:
            return "the kernel's result, with the recorded owner, type and device number of the file"
        case .getxattr, .lgetxattr, .fgetxattr, .listxattr, .llistxattr, .flistxattr:
            return "the kernel's result, with remainroot's own attributes hidden"
        case .chroot, .pivot_root, .unshare, .setns:
            return "passed to the kernel; afterwards paths are resolved in each tracee's own root"
        case .seccomp:
            return "passed to the kernel; the program's own filters then see no tracer, as without remainroot"
        case .ptrace:
            return "passed to the kernel, which refuses a second tracer; logged once"
        case .clone, .clone3:
            return "CLONE_UNTRACED is removed, so that every child stays traced"
        case .open, .openat, .openat2, .creat:
            return "checked by the kernel's permission rules for an emulated identity without CAP_DAC_OVERRIDE; a file created under an emulated fsuid or fsgid other than 0 gets that owner recorded"
        case .mkdir, .mkdirat, .symlink, .symlinkat:
            return "checked by the kernel's permission rules for an emulated identity without CAP_DAC_OVERRIDE; a file created under an emulated fsuid or fsgid other than 0 gets that owner recorded"
        case .access, .faccessat, .faccessat2, .execve, .execveat:
            return "stops only once the thread's emulated credentials differ from its real ones, and is checked by the kernel's rules for the emulated identity"
        }
    }
}

/// What a system call returned: a value, or an error the program sees as
/// -1 with errno set.
public enum SyscallResult: Equatable, Sendable {
    case success(UInt64)
    case failure(Errno)

    /// Decodes the generic Linux convention shared by most CPUs: a return
    /// register holding -4095...-1 is a negated errno, anything else a value.
    public init(linuxReturnValue value: UInt64) {
        let signed = Int64(bitPattern: value)
        if signed >= -4095 && signed < 0 {
            self = .failure(Errno(Int32(-signed)))
        } else {
            self = .success(value)
        }
    }

    /// The return register's value in the generic Linux convention.
    public var linuxReturnValue: UInt64 {
        switch self {
        case .success(let value):
            return value
        case .failure(let errno):
            return UInt64(bitPattern: -Int64(errno.rawValue))
        }
    }
}
