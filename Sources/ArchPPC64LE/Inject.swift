/// PPC64LE runs an injected call the way a program makes one: `sc` (the
/// word 0x44000002), with the number in r0 and the arguments in r3...r8.
/// The kernel copies r3 into orig_gpr3 at entry, so here argument 0 goes
/// into r3, unlike at a seccomp stop (see Arguments.swift). The result then
/// comes back in the `sc` form, a positive errno with CR0.SO set.
///
/// NOTE: written from the kernel's sources and checked over recorded
/// register images only, not yet on PPC64LE hardware.
extension PPC64LERegisters {
    static let systemCallInstruction: [UInt8] = [0x02, 0x00, 0x00, 0x44]

    func injected(number: Int64, arguments: [UInt64], at address: UInt64) -> PPC64LERegisters {
        var injected = self
        injected.gpr[0] = UInt64(bitPattern: number)
        for (index, value) in arguments.enumerated() {
            injected.gpr[3 + index] = value
        }
        injected.nip = address
        return injected
    }
}
