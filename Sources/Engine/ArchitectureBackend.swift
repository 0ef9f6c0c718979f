/// Everything remainroot needs to know about one CPU. The engine is generic
/// over this protocol and contains no `#if arch`; adding a CPU means one new
/// module whose type conforms to it, and one line where the CLI picks the
/// host's backend.
///
/// Every requirement is called only by the worker thread that owns the
/// stopped tracee whose registers are passed in, and only at the stop named
/// in its documentation. None of them performs a system call except
/// ``cancelSyscall(in:registerSets:)``.
public protocol ArchitectureBackend: Sendable {
    /// The general registers exactly as `PTRACE_GETREGSET` with `NT_PRSTATUS`
    /// reads them for a tracee of this CPU. The engine transfers the struct's
    /// bytes, so its size and field order must match the kernel's
    /// `struct user_pt_regs` (or `user_regs_struct`) for the CPU.
    associatedtype Registers: BitwiseCopyable

    /// The machine name, as `uname -m` prints it.
    var machineName: String { get }

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

    /// The program counter, for crash reports and invariant messages.
    func instructionPointer(of registers: Registers) -> UInt64

    /// The stack pointer, for crash reports and invariant messages.
    func stackPointer(of registers: Registers) -> UInt64
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

    /// For a multiplexing call, the values of its first argument (an `int`)
    /// that remainroot answers; the seccomp filter lets every other value
    /// through without a stop. nil traps every call.
    public var trappedFirstArguments: [UInt32]? {
        switch syscall {
        case .prctl: return PrctlOption.allCases.map(\.rawValue)
        default: return nil
        }
    }
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

    /// The calls that only matter when ownership is recorded; with
    /// `--ownership=off` the filter leaves them to the kernel.
    public var isOwnershipCall: Bool {
        switch self {
        case .mknod, .mknodat, .stat, .fstat, .lstat, .newfstatat, .statx,
             .getxattr, .lgetxattr, .fgetxattr, .listxattr, .llistxattr, .flistxattr,
             .chroot, .pivot_root, .unshare, .setns:
            return true
        default:
            return false
        }
    }

    /// What remainroot does with the call, for `remainroot syscalls`.
    public var summary: String {
        switch self {
        case .getuid, .geteuid, .getgid, .getegid, .getresuid, .getresgid, .getgroups:
            return "answered from the emulated credentials of the calling thread"
        case .setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid, .setfsuid, .setfsgid, .setgroups:
            return "changes the emulated credentials by the kernel's rules; the kernel's are untouched"
        case .capget:
            return "answered from the emulated capability sets"
        case .capset:
            return "changes the emulated capability sets by the kernel's rules"
        case .prctl:
            return "the keep-caps, securebits, bounding-set and ambient options are emulated; other options stop nowhere"
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
