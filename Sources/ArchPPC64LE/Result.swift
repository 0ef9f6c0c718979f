import Engine

/// PPC64 has two system-call instructions with two error conventions
/// (Documentation/powerpc/syscall64-abi.rst). After `sc` an error is a
/// positive errno in r3 with CR0.SO set, a success clears CR0.SO. After
/// `scv` (Power ISA 3.0, Linux 5.9) r3 contains -errno, as on other CPUs. The
/// kernel turns -errno into the `sc` form in `syscall_exit_prepare`
/// (arch/powerpc/kernel/interrupt.c) before the exit stop, so these read
/// and write the form the program sees.
extension PPC64LERegisters {
    /// CR0.SO, bit 28 of the condition register.
    static let summaryOverflow: UInt64 = 0x1000_0000

    /// The `trap` value of a call made with `scv`.
    static let trapSystemCallVectored: UInt64 = 0x3000

    /// Whether the stopped call was made with `scv`. The low four bits of
    /// `trap` carry flags on some kernels (`TRAP()` masks them).
    var isVectoredCall: Bool {
        trap & ~0xF == Self.trapSystemCallVectored
    }

    var syscallResult: SyscallResult {
        if isVectoredCall {
            return SyscallResult(linuxReturnValue: gpr[3])
        }
        if ccr & Self.summaryOverflow != 0 {
            return .failure(Errno(Int32(truncatingIfNeeded: gpr[3])))
        }
        return .success(gpr[3])
    }

    mutating func setResult(_ result: SyscallResult) {
        if isVectoredCall {
            gpr[3] = result.linuxReturnValue
            return
        }
        switch result {
        case .success(let value):
            gpr[3] = value
            ccr &= ~Self.summaryOverflow
        case .failure(let errno):
            gpr[3] = UInt64(errno.rawValue)
            ccr |= Self.summaryOverflow
        }
    }
}
