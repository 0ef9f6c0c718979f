/// The general registers of an AArch64 tracee: the kernel's
/// `struct user_pt_regs` (arch/arm64/include/uapi/asm/ptrace.h), which is
/// what `PTRACE_GETREGSET` with `NT_PRSTATUS` transfers: 34 eight-byte
/// fields. The names are the kernel's.
///
/// The system-call number the kernel acts on is not among them: it is
/// `pt_regs.syscallno`, copied from w8 at entry and reachable only through
/// the `NT_ARM_SYSTEM_CALL` register set (see Cancel.swift).
public struct AArch64Registers: BitwiseCopyable, Equatable, Sendable {
    /// x0...x30. x0 is the first argument at entry and the result at exit;
    /// x8 holds the number the program passed.
    public var regs = InlineArray<31, UInt64>(repeating: 0)
    public var sp: UInt64 = 0
    public var pc: UInt64 = 0
    /// PSTATE; bit 4 (`PSR_MODE32_BIT`) is set for an AArch32 task.
    public var pstate: UInt64 = 0

    public init() {}

    /// `PSR_MODE32_BIT` from arch/arm64/include/uapi/asm/ptrace.h.
    public static let mode32Bit: UInt64 = 0x10

    public static func == (left: AArch64Registers, right: AArch64Registers) -> Bool {
        for index in 0..<31 where left.regs[index] != right.regs[index] {
            return false
        }
        return left.sp == right.sp && left.pc == right.pc && left.pstate == right.pstate
    }
}
