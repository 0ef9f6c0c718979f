import Engine

/// x86_64 returns a call's result in rax, an error as -errno.
extension X86_64Registers {
    var result: SyscallResult {
        SyscallResult(linuxReturnValue: rax)
    }

    mutating func setResult(_ result: SyscallResult) {
        rax = result.linuxReturnValue
    }
}
