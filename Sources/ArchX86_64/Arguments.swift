/// The x86_64 calling convention for system calls: arguments in rdi, rsi,
/// rdx, r10, r8 and r9 (syscall(2), "Architecture calling conventions").
/// The kernel preserves all six across the call.
///
/// An i386 call passes them in ebx, ecx, edx, esi, edi and ebp, which the
/// 32-bit register set widens into the low halves of rbx, rcx, rdx, rsi,
/// rdi and rbp. The kernel reads 32 bits of each.
extension X86_64Registers {
    /// Calls `body` with the register that contains argument `index`. A switch
    /// rather than a table of key paths, because the tracer reads all six
    /// arguments at every stop and a key path is resolved at run time.
    private mutating func withArgumentRegister<Result>(_ index: Int, sixtyFourBit: Bool, _ body: (inout UInt64) -> Result) -> Result {
        switch (index, sixtyFourBit) {
        case (0, true): return body(&rdi)
        case (1, true): return body(&rsi)
        case (2, true): return body(&rdx)
        case (3, true): return body(&r10)
        case (4, true): return body(&r8)
        case (5, true): return body(&r9)
        case (0, false): return body(&rbx)
        case (1, false): return body(&rcx)
        case (2, false): return body(&rdx)
        case (3, false): return body(&rsi)
        case (4, false): return body(&rdi)
        case (5, false): return body(&rbp)
        default: preconditionFailure("x86 system calls take six arguments, not \(index + 1)")
        }
    }

    func argument(_ index: Int) -> UInt64 {
        var registers = self
        let value = registers.withArgumentRegister(index, sixtyFourBit: isSixtyFourBitMode) { $0 }
        return isSixtyFourBitMode ? value : UInt64(UInt32(truncatingIfNeeded: value))
    }

    mutating func setArgument(_ index: Int, to value: UInt64) {
        let stored = isSixtyFourBitMode ? value : UInt64(UInt32(truncatingIfNeeded: value))
        withArgumentRegister(index, sixtyFourBit: isSixtyFourBitMode) { $0 = stored }
    }

    mutating func restoreArguments(from entry: X86_64Registers) {
        var source = entry
        for index in 0..<6 {
            let value = source.withArgumentRegister(index, sixtyFourBit: entry.isSixtyFourBitMode) { $0 }
            withArgumentRegister(index, sixtyFourBit: entry.isSixtyFourBitMode) { $0 = value }
        }
    }
}
