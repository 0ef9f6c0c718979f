/// PPC64LE does not park threads yet, so every new process stays on the
/// worker of its parent.
///
/// TODO: park at the first stop of a new child by moving nip back over the
/// 4-byte `sc` or `scv 0` and setting r0 to ppoll (281) with r3...r7 zero.
/// The kernel's restart check runs after the stop and reads r3 and the
/// CR0.SO bit (arch/powerpc/kernel/signal.c, `check_syscall_restart`), so
/// fork's 0 in r3 restarts nothing. It needs a test on PPC64LE hardware
/// first.
enum PPC64LEPark {
    static func parked(_ registers: PPC64LERegisters) -> PPC64LERegisters? {
        nil
    }
}
