import Engine

/// The x86_64 backend: the native 64-bit ABI. 32-bit i386 and x32 calls are
/// not trapped by the filter and reach the kernel unchanged.
public struct X86_64Backend: ArchitectureBackend {
    public typealias Registers = X86_64Registers

    public init() {}

    public var machineName: String { "x86_64" }

    public var abis: [SyscallABI] { [X86_64SyscallNumbers.abi] }

    public func abiIndex(of registers: X86_64Registers) -> Int? {
        guard registers.cs == X86_64Registers.userCodeSegment64 else { return nil }
        guard Int64(bitPattern: registers.orig_rax) & X86_64SyscallNumbers.x32SyscallBit == 0 else { return nil }
        return 0
    }

    public func syscallNumber(of registers: X86_64Registers) -> Int64 {
        Int64(bitPattern: registers.orig_rax)
    }

    public func argument(_ index: Int, of registers: X86_64Registers) -> UInt64 {
        registers.argument(index)
    }

    public func setArgument(_ index: Int, to value: UInt64, in registers: inout X86_64Registers) {
        registers.setArgument(index, to: value)
    }

    public func restoreArguments(from entry: X86_64Registers, into exit: inout X86_64Registers) {
        exit.restoreArguments(from: entry)
    }

    public func result(of registers: X86_64Registers) -> SyscallResult {
        registers.result
    }

    public func setResult(_ result: SyscallResult, in registers: inout X86_64Registers) {
        registers.setResult(result)
    }

    public var cancelledResultStop: ResultStop { .entry }

    public func cancelSyscall(in registers: inout X86_64Registers, registerSets: RegisterSetAccess) throws(TraceError) {
        registers.cancelSyscall()
    }

    public func parkedRegisters(_ registers: X86_64Registers) -> X86_64Registers? {
        registers.parked()
    }

    public func instructionPointer(of registers: X86_64Registers) -> UInt64 {
        registers.rip
    }

    public func stackPointer(of registers: X86_64Registers) -> UInt64 {
        registers.rsp
    }
}
