/// The general registers of an x86_64 tracee, in the order of the kernel's
/// `struct user_regs_struct` (arch/x86/include/asm/user_64.h), which is what
/// `PTRACE_GETREGSET` with `NT_PRSTATUS` transfers for a 64-bit task: 27
/// eight-byte fields. The names are the kernel's.
///
/// A task in 32-bit mode gets the 17 four-byte fields of
/// `struct user_regs_struct32` instead (see ``I386RegisterLayout``); they
/// are widened into the same fields, with cs 0x23 telling the two apart.
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

    /// Whether the kernel treats the task as 64-bit: `user_64bit_mode` in
    /// arch/x86/include/asm/ptrace.h compares cs with `__USER_CS`, and
    /// `task_user_regset_view` (arch/x86/kernel/ptrace.c) uses it to pick
    /// the 64-bit or the 32-bit register set.
    public var isSixtyFourBitMode: Bool {
        cs == Self.userCodeSegment64
    }
}

/// The register set of a task in 32-bit mode: the kernel's
/// `struct user_regs_struct32` (arch/x86/include/asm/user32.h), 17 fields
/// of four bytes, in the order of glibc's i386 `struct user_regs_struct`.
/// The segment fields are 16-bit selectors padded to four bytes.
enum I386RegisterLayout {
    static let size = 17 * 4

    /// Each four-byte field, in order, with the 64-bit field it widens to.
    /// `orig_eax` and `eax` are sign-extended, so -1 stays -1 and -errno
    /// stays negative; the others are zero-extended.
    static var fields: [(name: String, field: WritableKeyPath<X86_64Registers, UInt64>, signExtended: Bool)] {
        [
            ("ebx", \.rbx, false), ("ecx", \.rcx, false), ("edx", \.rdx, false),
            ("esi", \.rsi, false), ("edi", \.rdi, false), ("ebp", \.rbp, false),
            ("eax", \.rax, true), ("xds", \.ds, false), ("xes", \.es, false),
            ("xfs", \.fs, false), ("xgs", \.gs, false), ("orig_eax", \.orig_rax, true),
            ("eip", \.rip, false), ("xcs", \.cs, false), ("eflags", \.eflags, false),
            ("esp", \.rsp, false), ("xss", \.ss, false),
        ]
    }

    /// The bytes up to and including orig_eax, the twelfth field.
    static let syscallRegisterByteCount = 12 * 4

    static func decode(_ bytes: UnsafeRawBufferPointer) -> X86_64Registers {
        var registers = X86_64Registers()
        for (index, entry) in fields.enumerated() {
            let word = bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
            registers[keyPath: entry.field] = entry.signExtended
                ? UInt64(bitPattern: Int64(Int32(bitPattern: word)))
                : UInt64(word)
        }
        return registers
    }

    /// The low 32 bits of each widened field. rax and orig_rax keep only
    /// their low halves, as the kernel's `putreg32` stores them.
    static func encode(_ registers: X86_64Registers) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for entry in fields {
            let word = UInt32(truncatingIfNeeded: registers[keyPath: entry.field])
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }
}
