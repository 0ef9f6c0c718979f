/// On x86_64 a tracer skips a call by setting orig_rax to -1 at the entry
/// stop. The kernel then leaves rax alone (arch/x86/entry/common.c runs no
/// handler for -1), so the result written with it is what the program sees.
extension X86_64Registers {
    mutating func cancelSyscall() {
        orig_rax = UInt64.max
    }
}
