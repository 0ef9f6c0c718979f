import Engine

/// x86_64 returns a call's result in rax, an error as -errno. An i386 call
/// returns it in eax, which the 32-bit register set sign-extends into rax,
/// so the same decoding applies; writing keeps the low 32 bits.
extension X86_64Registers {
    var result: SyscallResult {
        SyscallResult(linuxReturnValue: rax)
    }

    mutating func setResult(_ result: SyscallResult) {
        let value = result.linuxReturnValue
        rax = isSixtyFourBitMode ? value : UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: value)))
    }
}
