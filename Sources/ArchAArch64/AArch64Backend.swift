import Engine

/// The AArch64 backend: the native 64-bit ABI. AArch32 calls (compat tasks)
/// are not trapped by the filter and reach the kernel unchanged.
public struct AArch64Backend: ArchitectureBackend {
    public typealias Registers = AArch64Registers

    public init() {}

    public var machineName: String { "aarch64" }

    public var abis: [SyscallABI] { [AArch64SyscallNumbers.abi] }

    public func abiIndex(of registers: AArch64Registers) -> Int? {
        registers.pstate & AArch64Registers.mode32Bit == 0 ? 0 : nil
    }

    /// The number in w8: the kernel passes `regs->regs[8]` to an `int`
    /// parameter (`el0_svc_common`), so only the low 32 bits count.
    public func syscallNumber(of registers: AArch64Registers) -> Int64 {
        Int64(Int32(truncatingIfNeeded: registers.regs[8]))
    }

    public func argument(_ index: Int, of registers: AArch64Registers) -> UInt64 {
        registers.argument(index)
    }

    public func setArgument(_ index: Int, to value: UInt64, in registers: inout AArch64Registers) {
        registers.setArgument(index, to: value)
    }

    public func restoreArguments(from entry: AArch64Registers, into exit: inout AArch64Registers) {
        exit.restoreArguments(from: entry)
    }

    public func result(of registers: AArch64Registers) -> SyscallResult {
        registers.result
    }

    public func setResult(_ result: SyscallResult, in registers: inout AArch64Registers) {
        registers.setResult(result)
    }

    public var cancelledResultStop: ResultStop { .entry }

    public func cancelSyscall(in registers: inout AArch64Registers, registerSets: RegisterSetAccess) throws(TraceError) {
        try AArch64Cancel.cancel(registerSets: registerSets)
    }

    public func setSyscallNumber(_ number: Int64, in registers: inout AArch64Registers, registerSets: RegisterSetAccess) throws(TraceError) {
        try AArch64Cancel.setNumber(Int32(truncatingIfNeeded: number), registerSets: registerSets)
    }

    /// The AAPCS64 has no red zone: nothing below sp is in use.
    public var redZoneSize: Int { 0 }

    public func parkedRegisters(_ registers: AArch64Registers) -> AArch64Registers? {
        AArch64Park.parked(registers)
    }

    public func syscallInstruction(for registers: AArch64Registers) -> [UInt8]? {
        abiIndex(of: registers) == nil ? nil : AArch64Registers.supervisorCallInstruction
    }

    public func injectedSyscallRegisters(_ registers: AArch64Registers, number: Int64, arguments: [UInt64], at address: UInt64) -> AArch64Registers? {
        abiIndex(of: registers) == nil ? nil : registers.injected(number: number, arguments: arguments, at: address)
    }

    public func instructionPointer(of registers: AArch64Registers) -> UInt64 {
        registers.pc
    }

    public func stackPointer(of registers: AArch64Registers) -> UInt64 {
        registers.sp
    }
}
