/// AArch64 runs an injected call the way a program makes one: `svc #0`
/// (the word 0xD4000001), with the number in x8 and the arguments in
/// x0...x5. The kernel copies x8 into `syscallno` at entry, so the
/// `NT_ARM_SYSTEM_CALL` set that a seccomp stop needs plays no part.
///
/// NOTE: the kernel puts back x7 after every syscall stop
/// (arch/arm64/kernel/ptrace.c, `report_syscall`), so x7 cannot be written
/// there. seccomp(2) takes three arguments, and no call injected here
/// needs more.
extension AArch64Registers {
    static let supervisorCallInstruction: [UInt8] = [0x01, 0x00, 0x00, 0xD4]

    func injected(number: Int64, arguments: [UInt64], at address: UInt64) -> AArch64Registers {
        var injected = self
        injected.regs[8] = UInt64(bitPattern: number)
        for (index, value) in arguments.enumerated() {
            injected.setArgument(index, to: value)
        }
        injected.pc = address
        return injected
    }
}
