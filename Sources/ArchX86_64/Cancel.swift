/// On x86_64 a tracer skips a call by setting orig_rax to -1 at the entry
/// stop. The kernel then leaves rax alone (arch/x86/entry/common.c runs no
/// handler for -1), so the result written with it is what the program sees.
/// For an i386 task the register set carries the low 32 bits, 0xFFFFFFFF,
/// which `syscall_get_nr` reads back as the `int` -1.
extension X86_64Registers {
    mutating func cancelSyscall() {
        orig_rax = UInt64.max
    }

    /// Another number in orig_rax makes the kernel run that call instead.
    mutating func setSyscallNumber(_ number: Int64) {
        orig_rax = UInt64(bitPattern: number)
    }
}
