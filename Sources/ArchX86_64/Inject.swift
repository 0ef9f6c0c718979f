/// x86_64 runs an injected call the way a program makes one: the number in
/// rax, which the kernel copies into orig_rax at entry, the arguments in
/// the ABI's registers, and rip at the instruction. A 64-bit task uses the
/// two-byte `syscall` (0F 05); an i386 task uses `int $0x80` (CD 80),
/// because `syscall` in 32-bit mode faults on Intel CPUs.
extension X86_64Registers {
    static let syscallInstruction: [UInt8] = [0x0F, 0x05]
    static let interruptInstruction: [UInt8] = [0xCD, 0x80]

    /// nil for an x32 task, whose calls remainroot leaves alone.
    var syscallInstruction: [UInt8]? {
        switch cs {
        case Self.userCodeSegment64:
            return Int64(bitPattern: orig_rax) & X86_64SyscallNumbers.x32SyscallBit == 0 ? Self.syscallInstruction : nil
        case Self.userCodeSegment32:
            return Self.interruptInstruction
        default:
            return nil
        }
    }

    func injected(number: Int64, arguments: [UInt64], at address: UInt64) -> X86_64Registers? {
        guard syscallInstruction != nil else { return nil }
        var injected = self
        injected.rax = isSixtyFourBitMode ? UInt64(bitPattern: number) : UInt64(UInt32(truncatingIfNeeded: number))
        for (index, value) in arguments.enumerated() {
            injected.setArgument(index, to: value)
        }
        injected.rip = address
        return injected
    }
}
