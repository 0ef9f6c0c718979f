/// The general registers of an x86_64 tracee, in the order of the kernel's
/// `struct user_regs_struct` (arch/x86/include/asm/user_64.h), which is what
/// `PTRACE_GETREGSET` with `NT_PRSTATUS` transfers: 27 eight-byte fields.
/// The names are the kernel's.
public struct X86_64Registers: BitwiseCopyable, Equatable, Sendable {
    public var r15: UInt64 = 0
    public var r14: UInt64 = 0
    public var r13: UInt64 = 0
    public var r12: UInt64 = 0
    public var rbp: UInt64 = 0
    public var rbx: UInt64 = 0
    public var r11: UInt64 = 0
    public var r10: UInt64 = 0
    public var r9: UInt64 = 0
    public var r8: UInt64 = 0
    public var rax: UInt64 = 0
    public var rcx: UInt64 = 0
    public var rdx: UInt64 = 0
    public var rsi: UInt64 = 0
    public var rdi: UInt64 = 0
    /// The system-call number at a syscall stop; -1 makes the kernel skip
    /// the call.
    public var orig_rax: UInt64 = 0
    public var rip: UInt64 = 0
    /// 0x33 for a 64-bit task, 0x23 for one in 32-bit (i386) mode.
    public var cs: UInt64 = 0
    public var eflags: UInt64 = 0
    public var rsp: UInt64 = 0
    public var ss: UInt64 = 0
    public var fs_base: UInt64 = 0
    public var gs_base: UInt64 = 0
    public var ds: UInt64 = 0
    public var es: UInt64 = 0
    public var fs: UInt64 = 0
    public var gs: UInt64 = 0

    public init() {}

    /// The code segment selector of a 64-bit user task (`__USER_CS`).
    public static let userCodeSegment64: UInt64 = 0x33
    /// The code segment selector of a 32-bit user task (`__USER32_CS`).
    public static let userCodeSegment32: UInt64 = 0x23
}
