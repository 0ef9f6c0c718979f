/// The x86_64 calling convention for system calls: arguments in rdi, rsi,
/// rdx, r10, r8 and r9 (syscall(2), "Architecture calling conventions").
/// The kernel preserves all six across the call.
///
/// An i386 call passes them in ebx, ecx, edx, esi, edi and ebp, which the
/// 32-bit register set widens into the low halves of rbx, rcx, rdx, rsi,
/// rdi and rbp. The kernel reads 32 bits of each.
extension X86_64Registers {
    private static func argumentField(_ index: Int, sixtyFourBit: Bool) -> WritableKeyPath<X86_64Registers, UInt64> {
        switch (index, sixtyFourBit) {
        case (0, true): return \.rdi
        case (1, true): return \.rsi
        case (2, true): return \.rdx
        case (3, true): return \.r10
        case (4, true): return \.r8
        case (5, true): return \.r9
        case (0, false): return \.rbx
        case (1, false): return \.rcx
        case (2, false): return \.rdx
        case (3, false): return \.rsi
        case (4, false): return \.rdi
        case (5, false): return \.rbp
        default: preconditionFailure("x86 system calls take six arguments, not \(index + 1)")
        }
    }

    func argument(_ index: Int) -> UInt64 {
        let value = self[keyPath: Self.argumentField(index, sixtyFourBit: isSixtyFourBitMode)]
        return isSixtyFourBitMode ? value : UInt64(UInt32(truncatingIfNeeded: value))
    }

    mutating func setArgument(_ index: Int, to value: UInt64) {
        let stored = isSixtyFourBitMode ? value : UInt64(UInt32(truncatingIfNeeded: value))
        self[keyPath: Self.argumentField(index, sixtyFourBit: isSixtyFourBitMode)] = stored
    }

    mutating func restoreArguments(from entry: X86_64Registers) {
        for index in 0..<6 {
            let field = Self.argumentField(index, sixtyFourBit: entry.isSixtyFourBitMode)
            self[keyPath: field] = entry[keyPath: field]
        }
    }
}
