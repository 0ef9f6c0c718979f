/// The PPC64 calling convention for system calls: arguments in r3...r8
/// (syscall(2), "Architecture calling conventions").
///
/// At a seccomp stop r3 does not hold the first argument: `do_seccomp`
/// (arch/powerpc/kernel/ptrace/ptrace.c, Linux 4.8 and later) sets r3 to
/// -ENOSYS before the filter runs, keeps the argument in orig_gpr3, and
/// copies orig_gpr3 back into r3 when the call goes on. So argument 0 is
/// read and written in orig_gpr3, which lets a tracer change it.
extension PPC64LERegisters {
    func argument(_ index: Int) -> UInt64 {
        precondition((0..<6).contains(index), "PPC64 system calls take six arguments, not \(index + 1)")
        return index == 0 ? orig_gpr3 : gpr[3 + index]
    }

    mutating func setArgument(_ index: Int, to value: UInt64) {
        precondition((0..<6).contains(index), "PPC64 system calls take six arguments, not \(index + 1)")
        if index == 0 {
            orig_gpr3 = value
        } else {
            gpr[3 + index] = value
        }
    }

    /// Puts orig_gpr3 and r4...r8 back. r3 holds the result at the exit
    /// stop and stays, and so does ccr, which carries the error flag.
    mutating func restoreArguments(from entry: PPC64LERegisters) {
        orig_gpr3 = entry.orig_gpr3
        for index in 4...8 {
            gpr[index] = entry.gpr[index]
        }
    }
}
