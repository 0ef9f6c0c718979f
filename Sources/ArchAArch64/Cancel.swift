import Engine

/// On AArch64 the kernel reads the number to run from `pt_regs.syscallno`,
/// which it copied from w8 before the seccomp stop, so changing x8 there
/// changes nothing. A tracer writes the number through the
/// `NT_ARM_SYSTEM_CALL` register set instead, a single `int`
/// (arch/arm64/kernel/ptrace.c, `system_call_set`; Linux 3.19).
///
/// -1 (`NO_SYSCALL`) makes `el0_svc_common` (arch/arm64/kernel/syscall.c)
/// go straight to the exit work, leaving x0 as the tracer wrote it, so the
/// result is written at the seccomp stop.
enum AArch64Cancel {
    /// `NT_ARM_SYSTEM_CALL` from <linux/elf.h>.
    static let systemCallRegisterSet: Int32 = 0x404

    /// `NO_SYSCALL`, the number that makes the kernel skip the call.
    static let noSyscall: Int32 = -1

    static func cancel(registerSets: RegisterSetAccess) throws(TraceError) {
        try setNumber(noSyscall, registerSets: registerSets)
    }

    /// Another number in the same register set makes the kernel run that
    /// call instead.
    static func setNumber(_ number: Int32, registerSets: RegisterSetAccess) throws(TraceError) {
        var number = number
        try withUnsafeBytes(of: &number) { (bytes) throws(TraceError) in
            try registerSets.writeRegisterSet(systemCallRegisterSet, bytes: bytes)
        }
    }
}
