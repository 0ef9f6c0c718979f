import CShims

/// The classic-BPF program the traced child installs before execve. It
/// returns `SECCOMP_RET_TRACE` for the calls remainroot answers and
/// `SECCOMP_RET_ALLOW` for everything else, so an ordinary program hardly
/// ever stops.
///
/// The program reads `seccomp_data.arch` and `seccomp_data.nr`, and one
/// argument only for prctl, clone and the opens. So the kernel's per-filter action cache (Linux
/// 5.11, `seccomp_cache_prepare`) proves every other call's action
/// constant, and the allowed calls skip the BPF interpreter altogether.
public struct SeccompFilter: Sendable {
    public let instructions: [shim_bpf_instruction]

    // Opcodes and values from <linux/filter.h> and <linux/seccomp.h>.
    static let loadWordAbsolute: UInt16 = 0x00 | 0x00 | 0x20   // BPF_LD | BPF_W | BPF_ABS
    static let jumpIfEqual: UInt16 = 0x05 | 0x10               // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfGreaterOrEqual: UInt16 = 0x05 | 0x30      // BPF_JMP | BPF_JGE | BPF_K
    static let jumpIfAnyBit: UInt16 = 0x05 | 0x40              // BPF_JMP | BPF_JSET | BPF_K
    static let returnConstant: UInt16 = 0x06                   // BPF_RET | BPF_K
    static let returnAllow: UInt32 = 0x7fff_0000               // SECCOMP_RET_ALLOW
    /// `SECCOMP_RET_TRACE` with remainroot's mark in `SECCOMP_RET_DATA`,
    /// which PTRACE_GETEVENTMSG returns at the stop. A program's own filter
    /// installed later wins among equal actions, so another value at the
    /// stop means that filter asked for a tracer.
    static let returnTrace: UInt32 = 0x7ff0_0000 | UInt32(traceMark)
    public static let traceMark: UInt16 = 0x7272
    static let offsetOfNumber: UInt32 = 0                      // seccomp_data.nr
    static let offsetOfArch: UInt32 = 4                        // seccomp_data.arch
    // seccomp_data.args[0] starts at 16; its low half comes first on the
    // little-endian CPUs remainroot supports.
    // NOTE: a big-endian backend needs offset 20 here.
    static let offsetOfFirstArgumentLowWord: UInt32 = 16

    /// Builds the program for `abis`. Each ABI gets one block that first
    /// matches the audit arch, so that a call is never compared with the
    /// numbers of another ABI (an i386 `setuid32` is 213, which is x86_64's
    /// `epoll_create`).
    ///
    /// The calls in `trappingEveryCallOf` stop whatever their arguments,
    /// which the permission filter needs for the opens.
    public init(abis: [SyscallABI], trappingEveryCallOf unfiltered: Set<Syscall> = []) {
        var program: [shim_bpf_instruction] = []
        program.append(Self.statement(Self.loadWordAbsolute, Self.offsetOfArch))

        for abi in abis {
            let block = Self.block(abi: abi, unfiltered: unfiltered)
            // A mismatch jumps over the block with the arch still in the
            // accumulator; every path through the block returns.
            precondition(block.count <= 255, "seccomp block for \(abi.name) is too long for an 8-bit jump")
            program.append(Self.jump(Self.jumpIfEqual, abi.auditArch, ifTrue: 0, ifFalse: UInt8(block.count)))
            program.append(contentsOf: block)
        }

        program.append(Self.statement(Self.returnConstant, Self.returnAllow))
        instructions = program
    }

    /// One ABI's block: load the number, leave foreign numbers alone, trap
    /// the listed ones, allow the rest. A call with trapped first-argument
    /// values jumps to a sub-block after the two returns that tests
    /// `args[0]`; BPF jumps only forward, so each sub-block ends with its own
    /// returns. Every path returns.
    private static func block(abi: SyscallABI, unfiltered: Set<Syscall>) -> [shim_bpf_instruction] {
        let numbers = abi.syscalls.keys.sorted()
        let tests = numbers.count + (abi.foreignNumberFloor == nil ? 0 : 1)
        var subBlocks: [[shim_bpf_instruction]] = []

        var head: [shim_bpf_instruction] = [statement(loadWordAbsolute, offsetOfNumber)]
        // Layout after the tests: [RET ALLOW] [RET TRACE] [sub-blocks...].
        var remaining = tests
        var subBlockOffset = 2
        if let floor = abi.foreignNumberFloor {
            remaining -= 1
            head.append(jump(jumpIfGreaterOrEqual, UInt32(truncatingIfNeeded: floor), ifTrue: jumpDistance(remaining), ifFalse: 0))
        }
        for number in numbers {
            remaining -= 1
            if let entry = abi.syscalls[number], !unfiltered.contains(entry.syscall), let test = entry.argumentFilter {
                head.append(jump(jumpIfEqual, UInt32(truncatingIfNeeded: number), ifTrue: jumpDistance(remaining + subBlockOffset), ifFalse: 0))
                let subBlock = argumentBlock(test.filter, index: test.index)
                subBlocks.append(subBlock)
                subBlockOffset += subBlock.count
            } else {
                head.append(jump(jumpIfEqual, UInt32(truncatingIfNeeded: number), ifTrue: jumpDistance(remaining + 1), ifFalse: 0))
            }
        }

        head.append(statement(returnConstant, returnAllow))
        head.append(statement(returnConstant, returnTrace))
        return head + subBlocks.joined()
    }

    /// Loads the low 32 bits of `args[index]` and traps the values the
    /// filter names.
    private static func argumentBlock(_ filter: ArgumentFilter, index: Int) -> [shim_bpf_instruction] {
        var block: [shim_bpf_instruction] = [statement(loadWordAbsolute, offsetOfFirstArgumentLowWord + 8 * UInt32(index))]
        switch filter {
        case .oneOf(let values):
            var remaining = values.count
            for value in values {
                remaining -= 1
                block.append(jump(jumpIfEqual, value, ifTrue: jumpDistance(remaining + 1), ifFalse: 0))
            }
        case .anyBit(let bits):
            block.append(jump(jumpIfAnyBit, bits, ifTrue: 1, ifFalse: 0))
        }
        block.append(statement(returnConstant, returnAllow))
        block.append(statement(returnConstant, returnTrace))
        return block
    }

    private static func jumpDistance(_ distance: Int) -> UInt8 {
        precondition(distance <= 255, "seccomp filter jump of \(distance) does not fit the 8-bit offset")
        return UInt8(distance)
    }

    private static func statement(_ code: UInt16, _ value: UInt32) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: 0, jf: 0, k: value)
    }

    private static func jump(_ code: UInt16, _ value: UInt32, ifTrue: UInt8, ifFalse: UInt8) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: ifTrue, jf: ifFalse, k: value)
    }
}
