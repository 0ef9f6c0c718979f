/// The AArch64 calling convention for system calls: arguments in x0...x5
/// (syscall(2), "Architecture calling conventions"). x0 also receives the
/// result, so only x1...x5 survive the call; the kernel keeps the first
/// argument in `pt_regs.orig_x0`, which the regset does not show.
extension AArch64Registers {
    func argument(_ index: Int) -> UInt64 {
        precondition((0..<6).contains(index), "AArch64 system calls take six arguments, not \(index + 1)")
        return regs[index]
    }

    mutating func setArgument(_ index: Int, to value: UInt64) {
        precondition((0..<6).contains(index), "AArch64 system calls take six arguments, not \(index + 1)")
        regs[index] = value
    }

    /// Puts x1...x5 back. x0 holds the result at the exit stop and stays.
    mutating func restoreArguments(from entry: AArch64Registers) {
        for index in 1..<6 {
            regs[index] = entry.regs[index]
        }
    }
}
