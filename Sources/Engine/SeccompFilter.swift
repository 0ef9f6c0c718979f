import CShims

/// The classic-BPF program the traced child installs before execve. It
/// returns `SECCOMP_RET_TRACE` for the calls remainroot answers and
/// `SECCOMP_RET_ALLOW` for everything else, so an ordinary program hardly
/// ever stops.
///
/// The program reads only `seccomp_data.arch` and `seccomp_data.nr`. That
/// keeps it within what the kernel's per-filter action cache (Linux 5.11,
/// `seccomp_cache_prepare`) can prove constant, so the allowed calls skip
/// the BPF interpreter altogether.
public struct SeccompFilter: Sendable {
    public let instructions: [shim_bpf_instruction]

    // Opcodes and values from <linux/filter.h> and <linux/seccomp.h>.
    static let loadWordAbsolute: UInt16 = 0x00 | 0x00 | 0x20   // BPF_LD | BPF_W | BPF_ABS
    static let jumpIfEqual: UInt16 = 0x05 | 0x10               // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfGreaterOrEqual: UInt16 = 0x05 | 0x30      // BPF_JMP | BPF_JGE | BPF_K
    static let returnConstant: UInt16 = 0x06                   // BPF_RET | BPF_K
    static let returnAllow: UInt32 = 0x7fff_0000               // SECCOMP_RET_ALLOW
    static let returnTrace: UInt32 = 0x7ff0_0000               // SECCOMP_RET_TRACE
    static let offsetOfNumber: UInt32 = 0                      // seccomp_data.nr
    static let offsetOfArch: UInt32 = 4                        // seccomp_data.arch

    /// Builds the program for `abis`. Each ABI gets one block that first
    /// matches the audit arch, so that a call is never compared with the
    /// numbers of another ABI (an i386 `setuid32` is 213, which is x86_64's
    /// `epoll_create`).
    public init(abis: [SyscallABI]) {
        var program: [shim_bpf_instruction] = []
        program.append(Self.statement(Self.loadWordAbsolute, Self.offsetOfArch))

        for abi in abis {
            let numbers = abi.syscalls.keys.sorted()
            let block = Self.block(numbers: numbers, foreignNumberFloor: abi.foreignNumberFloor)
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
    /// the listed ones, allow the rest. Every path returns.
    private static func block(numbers: [Int64], foreignNumberFloor: Int64?) -> [shim_bpf_instruction] {
        var block: [shim_bpf_instruction] = [statement(loadWordAbsolute, offsetOfNumber)]
        let tests = numbers.count + (foreignNumberFloor == nil ? 0 : 1)
        // Layout after the tests: [RET ALLOW] [RET TRACE].
        var remaining = tests

        if let floor = foreignNumberFloor {
            remaining -= 1
            block.append(jump(jumpIfGreaterOrEqual, UInt32(truncatingIfNeeded: floor), ifTrue: UInt8(remaining), ifFalse: 0))
        }
        for number in numbers {
            remaining -= 1
            block.append(jump(jumpIfEqual, UInt32(truncatingIfNeeded: number), ifTrue: UInt8(remaining + 1), ifFalse: 0))
        }

        block.append(statement(returnConstant, returnAllow))
        block.append(statement(returnConstant, returnTrace))
        return block
    }

    private static func statement(_ code: UInt16, _ value: UInt32) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: 0, jf: 0, k: value)
    }

    private static func jump(_ code: UInt16, _ value: UInt32, ifTrue: UInt8, ifFalse: UInt8) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: ifTrue, jf: ifFalse, k: value)
    }
}
