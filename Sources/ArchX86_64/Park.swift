/// x86_64 parks a thread through the kernel's system-call restart. Take a
/// stop on the way out of a call, with a call number in orig_rax and
/// -ERESTARTNOINTR in rax. arch_do_signal_or_restart
/// (arch/x86/kernel/signal.c) then copies orig_rax into rax and moves rip
/// back over the two-byte `syscall` or `int $0x80` instruction, so the
/// thread's next step is that call. A 32-bit call made through the vDSO
/// returns to the landing pad just after its `int $0x80`
/// (do_fast_syscall_32 in arch/x86/entry), so the same rewind applies.
extension X86_64Registers {
    /// `ERESTARTNOINTR` from include/linux/errno.h, negated as in rax.
    static let restartNoInterrupt: Int64 = -513
    /// `pause` in arch/x86/entry/syscalls/syscall_64.tbl, an entry x32
    /// shares with the x86_64 ABI.
    static let pauseNumber64: UInt64 = 34
    /// `pause` in arch/x86/entry/syscalls/syscall_32.tbl.
    static let pauseNumber32: UInt64 = 29

    func parked() -> X86_64Registers? {
        // A negative orig_rax means the thread entered the kernel by an
        // interrupt or fault, not a call: rip - 2 is then no syscall
        // instruction.
        guard Int64(bitPattern: orig_rax) >= 0 else { return nil }

        var parked = self
        switch cs {
        case Self.userCodeSegment64:
            let x32Bit = orig_rax & UInt64(X86_64SyscallNumbers.x32SyscallBit)
            parked.orig_rax = Self.pauseNumber64 | x32Bit
        case Self.userCodeSegment32:
            parked.orig_rax = Self.pauseNumber32
        default:
            return nil
        }
        parked.rax = UInt64(bitPattern: Self.restartNoInterrupt)
        return parked
    }
}
