import Engine

/// The PPC64LE backend: the native 64-bit ABI, through `sc` and `scv`.
/// 32-bit tasks are not trapped by the filter and reach the kernel
/// unchanged.
public struct PPC64LEBackend: ArchitectureBackend {
    public typealias Registers = PPC64LERegisters

    public init() {}

    public var machineName: String { "ppc64le" }

    public var abis: [SyscallABI] { [PPC64LESyscallNumbers.abi] }

    public func abiIndex(of registers: PPC64LERegisters) -> Int? {
        registers.msr & PPC64LERegisters.sixtyFourBitMode != 0 ? 0 : nil
    }

    public func syscallNumber(of registers: PPC64LERegisters) -> Int64 {
        Int64(bitPattern: registers.gpr[0])
    }

    public func argument(_ index: Int, of registers: PPC64LERegisters) -> UInt64 {
        registers.argument(index)
    }

    public func setArgument(_ index: Int, to value: UInt64, in registers: inout PPC64LERegisters) {
        registers.setArgument(index, to: value)
    }

    public func restoreArguments(from entry: PPC64LERegisters, into exit: inout PPC64LERegisters) {
        exit.restoreArguments(from: entry)
    }

    public func result(of registers: PPC64LERegisters) -> SyscallResult {
        registers.syscallResult
    }

    public func setResult(_ result: SyscallResult, in registers: inout PPC64LERegisters) {
        registers.setResult(result)
    }

    public var cancelledResultStop: ResultStop { .exit }

    public func cancelSyscall(in registers: inout PPC64LERegisters, registerSets: RegisterSetAccess) throws(TraceError) {
        registers.cancelSyscall()
    }

    public func setSyscallNumber(_ number: Int64, in registers: inout PPC64LERegisters, registerSets: RegisterSetAccess) throws(TraceError) {
        registers.setSyscallNumber(number)
    }

    /// The ELFv2 ABI's 288-byte protected zone below r1.
    public var redZoneSize: Int { 288 }

    public func parkedRegisters(_ registers: PPC64LERegisters) -> PPC64LERegisters? {
        PPC64LEPark.parked(registers)
    }

    public func syscallInstruction(for registers: PPC64LERegisters) -> [UInt8]? {
        abiIndex(of: registers) == nil ? nil : PPC64LERegisters.systemCallInstruction
    }

    public func injectedSyscallRegisters(_ registers: PPC64LERegisters, number: Int64, arguments: [UInt64], at address: UInt64) -> PPC64LERegisters? {
        abiIndex(of: registers) == nil ? nil : registers.injected(number: number, arguments: arguments, at: address)
    }

    public func instructionPointer(of registers: PPC64LERegisters) -> UInt64 {
        registers.nip
    }

    public func stackPointer(of registers: PPC64LERegisters) -> UInt64 {
        registers.gpr[1]
    }
}
