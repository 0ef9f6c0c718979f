/// The x86_64 calling convention for system calls: arguments in rdi, rsi,
/// rdx, r10, r8 and r9 (syscall(2), "Architecture calling conventions").
/// The kernel preserves all six across the call.
extension X86_64Registers {
    func argument(_ index: Int) -> UInt64 {
        switch index {
        case 0: return rdi
        case 1: return rsi
        case 2: return rdx
        case 3: return r10
        case 4: return r8
        case 5: return r9
        default: preconditionFailure("x86_64 system calls take six arguments, not \(index + 1)")
        }
    }

    mutating func setArgument(_ index: Int, to value: UInt64) {
        switch index {
        case 0: rdi = value
        case 1: rsi = value
        case 2: rdx = value
        case 3: r10 = value
        case 4: r8 = value
        case 5: r9 = value
        default: preconditionFailure("x86_64 system calls take six arguments, not \(index + 1)")
        }
    }

    mutating func restoreArguments(from entry: X86_64Registers) {
        for index in 0..<6 {
            setArgument(index, to: entry.argument(index))
        }
    }
}
