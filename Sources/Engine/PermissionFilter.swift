import CShims

/// The second seccomp filter, the one of a thread whose emulated
/// credentials differ from the ones the kernel holds for it. It stops every
/// credential call, reads included, whatever the arguments, and the open
/// and access calls, so that ``PathPermissions`` can reject what the kernel
/// would reject for the emulated identity.
///
/// The first filter of a command that starts with its real credentials
/// (the namespace root's, the common case of a package build) lets reads
/// and no-op set*id calls reach the kernel, whose result is then the
/// emulated one. A filter can be neither changed nor removed, so the tracer
/// makes the thread install this one at the moment its credentials start
/// to differ: at the seccomp stop of the set*id, setgroups, capset or prctl
/// call that changes them, where the tracer stops anyway. There it rewrites
/// the call into seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) with the program
/// written below the thread's stack pointer, and at the exit stop puts back
/// the arguments and the result the emulated call returns. The kernel runs
/// the replaced call without another stop. An execve of a set-user-ID or
/// set-group-ID file changes credentials where no call stops; the tracer
/// then makes the new program call seccomp first, as
/// ``ArchitectureBackend/injectedSyscallRegisters(_:number:arguments:at:)`` describes.
///
/// Filters pass to children over fork and clone and stay across execve, as
/// the thread's emulated credentials do. A thread whose credentials become
/// equal to the real ones again keeps stopping, and is answered from its
/// emulated credentials.
public enum PermissionFilter {
    /// The filters a thread may hold over its first one. Each stops every
    /// call the one before it stops, so a thread only ever moves up.
    public enum Level: Int, Comparable, Sendable {
        /// The first filter alone: the emulated credentials are the
        /// kernel's, so its own reads and checks are right.
        case none
        /// Every credential call stops, reads included. The credentials
        /// differ from the kernel's only in groups no permission check can
        /// tell apart (``Credentials/differsOnlyInGroupsNamingFsgid(from:)``),
        /// so opens and access calls still run unchecked.
        case credentialCalls
        /// Every credential call and every path permission call stops.
        case permissionChecks

        public static func < (lhs: Level, rhs: Level) -> Bool {
            lhs.rawValue < rhs.rawValue
        }

        /// Returns the level a thread with `credentials` needs when its
        /// kernel credentials are `real`.
        public static func needed(by credentials: Credentials, real: Credentials) -> Level {
            if credentials == real { return .none }
            return credentials.differsOnlyInGroupsNamingFsgid(from: real) ? .credentialCalls : .permissionChecks
        }
    }

    /// `SECCOMP_SET_MODE_FILTER` from <linux/seccomp.h>.
    static let setModeFilter: UInt64 = 1

    /// Builds the classic-BPF program of `level`: every credential call of
    /// every ABI stops, whatever its arguments, and at
    /// ``Level/permissionChecks`` every path permission call too;
    /// everything else is allowed. It returns the same mark as the first
    /// filter, so the tracer handles its stops as its own.
    public static func instructions(abis: [SyscallABI], level: Level) -> [shim_bpf_instruction] {
        let checksPaths = level == .permissionChecks
        let stoppingABIs = abis.map { $0.filtered { $0.isCredentialCall || (checksPaths && $0.isPathPermissionCall) } }.filter { !$0.syscalls.isEmpty }
        return SeccompFilter(abis: stoppingABIs, scope: .differingCredentials(checksPaths: checksPaths)).instructions
    }

    /// Lays out the bytes to write into the tracee, and returns them with
    /// the address of the `struct sock_fprog` among them. The program lies below `stackPointer` and
    /// the ABI's red zone, 16-byte aligned, and the `sock_fprog` below it:
    /// a 16-bit length and a pointer of `wordSize` bytes, aligned to the
    /// pointer (`compat_sock_fprog` for a 32-bit task).
    /// NOTE: the image takes about 300 bytes below the red zone on x86_64.
    /// A thread whose stack has less room left below its stack pointer
    /// (a small custom stack) would see memory past its stack overwritten;
    /// a stack end at an unmapped page only makes the write fail.
    public static func memoryImage(_ instructions: [shim_bpf_instruction], stackPointer: UInt64, redZoneSize: Int, wordSize: Int) -> (address: UInt64, bytes: [UInt8], programAddress: UInt64) {
        var program: [UInt8] = []
        for instruction in instructions {
            program += littleEndianBytes(UInt64(instruction.code), count: 2)
            program += [instruction.jt, instruction.jf]
            program += littleEndianBytes(UInt64(instruction.k), count: 4)
        }
        let headerSize = 2 * wordSize
        let top = stackPointer - UInt64(redZoneSize)
        let programAddress = (top - UInt64(program.count)) & ~0xF
        let address = (programAddress - UInt64(headerSize)) & ~0xF

        var header = littleEndianBytes(UInt64(instructions.count), count: 2)
        header += [UInt8](repeating: 0, count: wordSize - 2)
        header += littleEndianBytes(programAddress, count: wordSize)
        let padding = [UInt8](repeating: 0, count: Int(programAddress - address) - header.count)
        return (address, header + padding + program, programAddress)
    }

    // NOTE: every CPU remainroot supports is little-endian; see
    // SeccompFilter.offsetOfFirstArgumentLowWord.
    private static func littleEndianBytes(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}
