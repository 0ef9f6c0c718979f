/// The general registers of a PPC64LE tracee as `PTRACE_GETREGSET` with
/// `NT_PRSTATUS` transfers them: the kernel's `struct pt_regs`
/// (arch/powerpc/include/uapi/asm/ptrace.h, 44 eight-byte fields) followed
/// by four zero words, because the register set is `ELF_NGREG` (48) words
/// long (arch/powerpc/include/uapi/asm/elf.h; `gpr_get` in
/// arch/powerpc/kernel/ptrace/ptrace-view.c zeroes the rest). The names are
/// the kernel's.
public struct PPC64LERegisters: BitwiseCopyable, Equatable, Sendable {
    /// r0...r31. r0 holds the system-call number, r3...r8 the arguments,
    /// r3 the result at exit.
    public var gpr = InlineArray<32, UInt64>(repeating: 0)
    public var nip: UInt64 = 0
    /// The machine state; bit 63 (`MSR_SF`) is set for a 64-bit task.
    public var msr: UInt64 = 0
    /// The first argument. At a seccomp stop it is the only copy, because
    /// the kernel has put -ENOSYS in r3 (see Arguments.swift).
    public var orig_gpr3: UInt64 = 0
    public var ctr: UInt64 = 0
    public var link: UInt64 = 0
    public var xer: UInt64 = 0
    /// The condition register; CR0.SO (0x10000000) flags an `sc` error.
    public var ccr: UInt64 = 0
    public var softe: UInt64 = 0
    /// The interrupt that entered the kernel: 0xc00 for `sc`, 0x3000 for
    /// `scv`.
    public var trap: UInt64 = 0
    public var dar: UInt64 = 0
    public var dsisr: UInt64 = 0
    public var result: UInt64 = 0
    /// Words 44...47 of the `ELF_NGREG` set, always zero.
    public var padding = InlineArray<4, UInt64>(repeating: 0)

    public init() {}

    /// `MSR_SF` from arch/powerpc/include/asm/reg.h.
    public static let sixtyFourBitMode: UInt64 = 1 << 63

    public static func == (left: PPC64LERegisters, right: PPC64LERegisters) -> Bool {
        for index in 0..<32 where left.gpr[index] != right.gpr[index] {
            return false
        }
        for index in 0..<4 where left.padding[index] != right.padding[index] {
            return false
        }
        return left.nip == right.nip && left.msr == right.msr && left.orig_gpr3 == right.orig_gpr3
            && left.ctr == right.ctr && left.link == right.link && left.xer == right.xer
            && left.ccr == right.ccr && left.softe == right.softe && left.trap == right.trap
            && left.dar == right.dar && left.dsisr == right.dsisr && left.result == right.result
    }
}
