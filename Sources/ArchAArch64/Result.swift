import Engine

/// AArch64 returns a call's result in x0, an error as -errno.
extension AArch64Registers {
    var result: SyscallResult {
        SyscallResult(linuxReturnValue: regs[0])
    }

    mutating func setResult(_ result: SyscallResult) {
        regs[0] = result.linuxReturnValue
    }
}
